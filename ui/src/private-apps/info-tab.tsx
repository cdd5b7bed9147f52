import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, describeError } from '../api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { CopyButton } from '../components/copy-button';
import { KeyIcon } from '../components/icons';
import { Modal } from '../components/modal';
import { ErrorNotice, Loading } from '../components/notice';
import { formatDateTime, formatRelative } from '../format';
import { useSession } from '../session';
import type { IssuedToken, PrivateApp, TokenInfo } from '../types';
import { useAsync } from '../use-async';
import type { Draft } from './app-dialog';

export interface InfoTabProps {
  app: PrivateApp;
  draft: Draft;
  readOnly: boolean;
  onDraft(patch: Partial<Draft>): void;
  /** Tokens were added or deleted; the list shows the new count. */
  onTokensChanged(tokenCount: number): void;
}

export function InfoTab({ app, draft, readOnly, onDraft, onTokensChanged }: InfoTabProps) {
  return (
    <div className="stack">
      <div className="form-grid">
        <label className="field">
          <span>Name</span>
          <input
            value={draft.name}
            maxLength={200}
            readOnly={readOnly}
            onChange={(event) => onDraft({ name: event.target.value })}
          />
        </label>
        <div className="field">
          <span>Created</span>
          <p className="field-value">
            {formatDateTime(app.createdAt)} by {app.createdBy.name}
          </p>
        </div>
      </div>
      <label className="field">
        <span>Description</span>
        <textarea
          rows={3}
          maxLength={5000}
          value={draft.description}
          readOnly={readOnly}
          placeholder="What this app is for, and who looks after it"
          onChange={(event) => onDraft({ description: event.target.value })}
        />
      </label>
      <details className="advanced">
        <summary>Access limits</summary>
        <div className="form-grid">
          <label className="field">
            <span>Requests per second</span>
            <input
              inputMode="numeric"
              value={draft.rateLimit}
              readOnly={readOnly}
              placeholder="Workspace default"
              onChange={(event) => onDraft({ rateLimit: event.target.value })}
            />
            <span className="hint">Empty uses the workspace default.</span>
          </label>
          <label className="field">
            <span>Allowed IP addresses</span>
            <textarea
              rows={3}
              value={draft.ipAllowlist}
              readOnly={readOnly}
              placeholder="203.0.113.0/24"
              onChange={(event) => onDraft({ ipAllowlist: event.target.value })}
            />
            <span className="hint">
              One address or CIDR range a line. Empty allows any address.
            </span>
          </label>
        </div>
      </details>
      <TokenSection app={app} onTokensChanged={onTokensChanged} />
    </div>
  );
}

const EXPIRY_CHOICES = [
  { value: '', label: 'Never expires' },
  { value: '30', label: 'Expires in 30 days' },
  { value: '90', label: 'Expires in 90 days' },
  { value: '365', label: 'Expires in a year' },
];

const GRACE_CHOICES = [
  { value: 0, label: 'Stop the old token now' },
  { value: 3600, label: 'Keep the old token for 1 hour' },
  { value: 86_400, label: 'Keep the old token for 1 day' },
  { value: 604_800, label: 'Keep the old token for 7 days' },
];

function TokenSection({
  app,
  onTokensChanged,
}: {
  app: PrivateApp;
  onTokensChanged(count: number): void;
}) {
  const { allowed } = useSession();
  const canManage = allowed('ServiceAccount', 'update');
  const tokens = useAsync(
    () => api.get<TokenInfo[]>(`/manage/private-apps/${app.id}/tokens`),
    [app.id],
  );
  const [issued, setIssued] = useState<IssuedToken | undefined>(undefined);
  const [label, setLabel] = useState('');
  const [expiry, setExpiry] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [toDelete, setToDelete] = useState<TokenInfo | undefined>(undefined);
  const [toRotate, setToRotate] = useState<TokenInfo | undefined>(undefined);
  const generateButton = useRef<HTMLButtonElement>(null);

  const update = (list: TokenInfo[]) => {
    tokens.setData(list);
    onTokensChanged(list.length);
  };

  const generate = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body: { label?: string; expiresAt?: string } = {};
      if (label.trim() !== '') body.label = label.trim();
      if (expiry !== '') {
        body.expiresAt = new Date(Date.now() + Number(expiry) * 86_400_000).toISOString();
      }
      const result = await api.post<IssuedToken>(`/manage/private-apps/${app.id}/tokens`, body);
      setIssued(result);
      setLabel('');
      update([result.info, ...(tokens.data ?? [])]);
    } catch (reason) {
      setError(describeError(reason));
    } finally {
      setBusy(false);
    }
  };

  const remove = async (token: TokenInfo) => {
    setBusy(true);
    setError(undefined);
    try {
      await api.delete(`/manage/private-apps/${app.id}/tokens/${token.id}`);
      update((tokens.data ?? []).filter((item) => item.id !== token.id));
      if (issued?.info.id === token.id) setIssued(undefined);
    } catch (reason) {
      setError(describeError(reason));
    } finally {
      setBusy(false);
      setToDelete(undefined);
    }
  };

  const rotate = async (token: TokenInfo, graceSeconds: number) => {
    setBusy(true);
    setError(undefined);
    try {
      const result = await api.post<IssuedToken>(
        `/manage/private-apps/${app.id}/tokens/${token.id}/rotate`,
        { graceSeconds },
      );
      setIssued(result);
      update(await api.get<TokenInfo[]>(`/manage/private-apps/${app.id}/tokens`));
    } catch (reason) {
      setError(describeError(reason));
    } finally {
      setBusy(false);
      setToRotate(undefined);
    }
  };

  const list = tokens.data ?? [];

  return (
    <section className="token-section" aria-labelledby="tokens-title">
      <h3 id="tokens-title">API Access Tokens</h3>
      <p className="muted">
        Send a token as <code>Authorization: Bearer &lt;token&gt;</code> to the main API. A token
        lasts until it is deleted, unless you give it an expiry date.
      </p>

      {issued === undefined ? null : (
        <NewTokenNotice
          issued={issued}
          onDismiss={() => {
            setIssued(undefined);
            generateButton.current?.focus();
          }}
        />
      )}
      <ErrorNotice error={tokens.error} />
      {error === undefined ? null : (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      )}
      {tokens.loading && tokens.data === undefined ? <Loading what="tokens" /> : null}
      {tokens.data !== undefined && list.length === 0 ? (
        <p className="empty-state">This app has no tokens yet.</p>
      ) : null}

      {list.length === 0 ? null : (
        <table className="data-table responsive token-table" aria-label="Tokens">
          <thead>
            <tr>
              <th scope="col">Token</th>
              <th scope="col">Label</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((token) => (
              <tr key={token.id} data-token-id={token.id}>
                <td data-label="Token">
                  <code>{token.hint}</code>
                  <TokenState token={token} />
                </td>
                <td data-label="Label">
                  {token.label === '' ? <span className="muted">None</span> : token.label}
                </td>
                <td data-label="Created">
                  <time dateTime={token.createdAt} title={formatDateTime(token.createdAt)}>
                    {formatRelative(token.createdAt)}
                  </time>{' '}
                  by {token.createdBy.name}
                </td>
                <td data-label="Last used">
                  {token.lastUsedAt === null ? (
                    <span className="muted">Never</span>
                  ) : (
                    <>
                      <time dateTime={token.lastUsedAt} title={formatDateTime(token.lastUsedAt)}>
                        {formatRelative(token.lastUsedAt)}
                      </time>
                      {token.lastUsedIp === null ? null : <> from {token.lastUsedIp}</>}
                    </>
                  )}
                </td>
                <td data-label="Expires">
                  {token.expiresAt === null ? 'Never' : formatDateTime(token.expiresAt)}
                </td>
                <td className="cell-actions">
                  {canManage ? (
                    <>
                      <button
                        type="button"
                        className="button button-small"
                        aria-label={`Rotate token ${token.hint}`}
                        disabled={token.retiresAt !== null}
                        onClick={() => setToRotate(token)}
                      >
                        Rotate
                      </button>
                      <button
                        type="button"
                        className="button button-small button-danger-outline"
                        aria-label={`Delete token ${token.hint}`}
                        onClick={() => setToDelete(token)}
                      >
                        Delete
                      </button>
                    </>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {canManage ? (
        <form className="token-generate" onSubmit={generate}>
          <label className="field">
            <span>Label (optional)</span>
            <input
              value={label}
              maxLength={200}
              placeholder="Production sync"
              onChange={(event) => setLabel(event.target.value)}
            />
          </label>
          <label className="field">
            <span>Expiry</span>
            <select value={expiry} onChange={(event) => setExpiry(event.target.value)}>
              {EXPIRY_CHOICES.map((choice) => (
                <option key={choice.value} value={choice.value}>
                  {choice.label}
                </option>
              ))}
            </select>
          </label>
          <button
            ref={generateButton}
            type="submit"
            className="button button-primary"
            disabled={busy}
          >
            <KeyIcon /> Generate new token
          </button>
        </form>
      ) : null}

      {toDelete === undefined ? null : (
        <ConfirmDialog
          title={`Delete token ${toDelete.hint}?`}
          confirmLabel="Delete token"
          danger
          busy={busy}
          onCancel={() => setToDelete(undefined)}
          onConfirm={() => void remove(toDelete)}
        >
          <p>
            Any integration using this token is refused from now on. The app and its other tokens
            stay.
          </p>
        </ConfirmDialog>
      )}
      {toRotate === undefined ? null : (
        <RotateDialog
          token={toRotate}
          busy={busy}
          onCancel={() => setToRotate(undefined)}
          onRotate={(grace) => void rotate(toRotate, grace)}
        />
      )}
    </section>
  );
}

function TokenState({ token }: { token: TokenInfo }) {
  const now = Date.now();
  if (token.expiresAt !== null && new Date(token.expiresAt).getTime() <= now) {
    return <span className="badge badge-muted">Expired</span>;
  }
  if (token.retiresAt !== null && new Date(token.retiresAt).getTime() <= now) {
    return <span className="badge badge-muted">Rotated out</span>;
  }
  if (token.retiresAt !== null) {
    return (
      <span className="badge badge-warning" title={formatDateTime(token.retiresAt)}>
        Retiring {formatRelative(token.retiresAt)}
      </span>
    );
  }
  return null;
}

/** The one moment a token can be read. Dismissing it forgets the token for good. */
function NewTokenNotice({ issued, onDismiss }: { issued: IssuedToken; onDismiss(): void }) {
  const input = useRef<HTMLInputElement>(null);

  // The notice appears above the token list, away from the button that asked for it.
  useEffect(() => {
    input.current?.scrollIntoView({ block: 'center' });
    input.current?.focus();
  }, [issued.token]);

  return (
    <div className="new-token" role="region" aria-labelledby="new-token-title">
      <h4 id="new-token-title">Your new API Access Token</h4>
      <p className="new-token-warning">
        <strong>Copy it now.</strong> App Center keeps only a fingerprint of the token and will not
        show it again. If you lose it, generate a new one.
      </p>
      <div className="new-token-value">
        <input
          ref={input}
          readOnly
          aria-label="New API Access Token"
          value={issued.token}
          onFocus={(event) => event.target.select()}
        />
        <CopyButton text={issued.token} description="Copy the new token" />
      </div>
      {issued.retiring?.retiresAt ? (
        <p className="muted">
          The token it replaces keeps working until {formatDateTime(issued.retiring.retiresAt)}.
        </p>
      ) : null}
      <button type="button" className="button" onClick={onDismiss}>
        I have stored it; hide the token
      </button>
    </div>
  );
}

function RotateDialog({
  token,
  busy,
  onCancel,
  onRotate,
}: {
  token: TokenInfo;
  busy: boolean;
  onCancel(): void;
  onRotate(graceSeconds: number): void;
}) {
  const [grace, setGrace] = useState(86_400);
  return (
    <Modal
      title={`Rotate token ${token.hint}`}
      onClose={onCancel}
      size="small"
      name="rotate-token"
      footer={
        <>
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
          <button
            type="button"
            className="button button-primary"
            disabled={busy}
            onClick={() => onRotate(grace)}
          >
            Rotate
          </button>
        </>
      }
    >
      <p>
        Rotating issues a new token for the same app. The old one can keep working for a while, so
        your integration can switch over without failed calls.
      </p>
      <label className="field">
        <span>Grace period</span>
        <select value={grace} onChange={(event) => setGrace(Number(event.target.value))}>
          {GRACE_CHOICES.map((choice) => (
            <option key={choice.value} value={choice.value}>
              {choice.label}
            </option>
          ))}
        </select>
      </label>
    </Modal>
  );
}
