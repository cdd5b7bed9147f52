import { useState } from 'react';
import { api, describeError } from '../api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { CopyButton } from '../components/copy-button';
import { ErrorNotice, Loading } from '../components/notice';
import { formatDateTime } from '../format';
import { useSession } from '../session';
import type { WorkspaceSettings } from '../types';
import { useAsync } from '../use-async';

const MASK = '•'.repeat(24);

export function TenantTokenSection() {
  const { allowed } = useSession();
  const settings = useAsync(() => api.get<WorkspaceSettings>('/manage/settings'), []);
  const [revealed, setRevealed] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState('');

  const regenerate = async () => {
    setBusy(true);
    setError(undefined);
    try {
      settings.setData(
        await api.post<WorkspaceSettings>('/manage/settings/tenant-token/regenerate'),
      );
      setRevealed(true);
      setStatus('A new Tenant Token was issued. The old one no longer works.');
    } catch (reason) {
      setError(describeError(reason));
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };

  const data = settings.data;

  return (
    <section aria-labelledby="tenant-title">
      <h1 id="tenant-title">Tenant Token</h1>
      <p className="page-intro">
        The Tenant Token is for the analytics endpoint only: send user activities and custom metrics
        to <code>/analytics/{'{tenantToken}'}</code>. It does not open the main API; for that,
        create a private app in App Center and use one of its API Access Tokens.
      </p>
      <ErrorNotice error={settings.error} />
      {data === undefined ? (
        settings.error === undefined ? (
          <Loading what="settings" />
        ) : null
      ) : (
        <div className="card stack">
          <dl className="detail-list">
            <dt>Workspace</dt>
            <dd>{data.workspace.name}</dd>
            <dt>Workspace id</dt>
            <dd>
              <code>{data.workspace.id}</code>
            </dd>
            <dt>Created</dt>
            <dd>{formatDateTime(data.workspace.createdAt)}</dd>
          </dl>
          <div className="secret-row">
            <input
              readOnly
              aria-label="Tenant Token"
              className="secret-value"
              value={revealed ? data.tenantToken : MASK}
            />
            <button
              type="button"
              className="button"
              aria-pressed={revealed}
              onClick={() => setRevealed(!revealed)}
            >
              {revealed ? 'Hide' : 'Reveal'}
            </button>
            <CopyButton text={data.tenantToken} description="Copy the Tenant Token" />
          </div>
          {allowed('Settings', 'update') ? (
            <div>
              <button
                type="button"
                className="button button-danger-outline"
                onClick={() => setConfirming(true)}
              >
                Regenerate Tenant Token
              </button>
            </div>
          ) : null}
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
        </div>
      )}
      {confirming ? (
        <ConfirmDialog
          title="Regenerate the Tenant Token?"
          confirmLabel="Regenerate"
          danger
          busy={busy}
          onCancel={() => setConfirming(false)}
          onConfirm={() => void regenerate()}
        >
          <p>
            The current Tenant Token stops working at once. Every integration that sends usage data
            must switch to the new one.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
