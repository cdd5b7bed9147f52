import { useState } from 'react';
import { api, describeError, query } from '../api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { formatDateTime } from '../format';
import { listGrants } from '../permissions';
import type { PrivateApp, SuggestedPermissions as Suggestion } from '../types';

export interface SuggestedPermissionsProps {
  appId: string;
  from: string;
  to: string;
  canApply: boolean;
  /** Why applying must wait, such as unsaved permission edits. */
  blockedReason: string | undefined;
  onApplied(app: PrivateApp): void;
}

/**
 * The smallest permissions that would have let every successful request in the window
 * through, worked out from the log, with what the app holds but never used.
 */
export function SuggestedPermissions(props: SuggestedPermissionsProps) {
  const { appId, from, to, canApply, blockedReason, onApplied } = props;
  const base = `/manage/private-apps/${appId}/suggested-permissions`;
  const [suggestion, setSuggestion] = useState<Suggestion | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [status, setStatus] = useState('');

  const load = async () => {
    setBusy(true);
    setError(undefined);
    setStatus('');
    try {
      setSuggestion(await api.get<Suggestion>(`${base}${query({ from, to })}`));
    } catch (reason) {
      setError(describeError(reason));
    } finally {
      setBusy(false);
    }
  };

  const apply = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const result = await api.post<{ app: PrivateApp }>(`${base}/apply`, { from, to });
      onApplied(result.app);
      setStatus('The suggested permissions are now the app’s permissions.');
      setSuggestion(undefined);
    } catch (reason) {
      setError(describeError(reason));
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };

  const grants = suggestion === undefined ? [] : listGrants(suggestion.suggested);

  return (
    <section className="suggestions" aria-labelledby="suggestions-title">
      <h3 id="suggestions-title">Suggested permissions</h3>
      <p className="muted">
        Works out, from the requests in the chosen period, the fewest permissions this app needs.
      </p>
      <button type="button" className="button" disabled={busy} onClick={() => void load()}>
        {suggestion === undefined ? 'Suggest permissions' : 'Suggest again'}
      </button>
      {status === '' ? null : (
        <p className="notice notice-success" role="status">
          {status}
        </p>
      )}
      {error === undefined ? null : (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      )}
      {suggestion === undefined ? null : (
        <div className="suggestion-result">
          <GrantList
            title="Needed"
            empty="No successful requests in this period."
            items={grants.map((grant) => ({ grant, note: usedCount(suggestion, grant) }))}
          />
          <GrantList
            title="Held but never used"
            empty="Every permission the app holds was used."
            items={suggestion.unused.map((grant) => ({ grant }))}
          />
          <GrantList
            title="Refused"
            empty="No request was refused for a missing permission."
            items={suggestion.refused.map((item) => ({
              grant: item.permission,
              note: `${item.count} time${item.count === 1 ? '' : 's'}, last ${formatDateTime(item.lastAt)}`,
            }))}
          />
          {canApply ? (
            <>
              {blockedReason === undefined ? null : (
                <p className="notice notice-warning">{blockedReason}</p>
              )}
              <button
                type="button"
                className="button button-primary"
                disabled={busy || blockedReason !== undefined}
                onClick={() => setConfirming(true)}
              >
                Apply suggestion
              </button>
            </>
          ) : null}
        </div>
      )}
      {confirming ? (
        <ConfirmDialog
          title="Apply the suggested permissions?"
          confirmLabel="Apply"
          busy={busy}
          onCancel={() => setConfirming(false)}
          onConfirm={() => void apply()}
        >
          <p>
            The app&apos;s permissions are replaced by the {grants.length} needed permission
            {grants.length === 1 ? '' : 's'}. Requests that need anything else will be refused.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}

function usedCount(suggestion: Suggestion, grant: string): string | undefined {
  const count = suggestion.used.find((item) => item.permission === grant)?.count;
  return count === undefined ? undefined : `${count} request${count === 1 ? '' : 's'}`;
}

function GrantList({
  title,
  items,
  empty,
}: {
  title: string;
  items: { grant: string; note?: string | undefined }[];
  empty: string;
}) {
  return (
    <div className="grant-list">
      <h4>{title}</h4>
      {items.length === 0 ? (
        <p className="muted">{empty}</p>
      ) : (
        <ul>
          {items.map((item) => (
            <li key={item.grant}>
              <code>{item.grant}</code>
              {item.note === undefined ? null : <span className="hint"> {item.note}</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
