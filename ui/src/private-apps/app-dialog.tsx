import { useEffect, useState, type KeyboardEvent } from 'react';
import { api, describeError } from '../api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { Modal } from '../components/modal';
import { ErrorNotice, Loading } from '../components/notice';
import { PermissionGrid } from '../components/permission-grid';
import { samePermissions } from '../permissions';
import { setNavigationGuard } from '../router';
import { useSession } from '../session';
import type { PermissionSet, PrivateApp } from '../types';
import { useAsync } from '../use-async';
import { InfoTab } from './info-tab';
import { LogsTab } from './logs-tab';

export interface AppDialogProps {
  appId: string;
  /** The app changed on the server: saved, enabled, or its token count moved. */
  onChanged(app: PrivateApp): void;
  onClosed(): void;
}

export function AppDialog({ appId, onChanged, onClosed }: AppDialogProps) {
  const loaded = useAsync(() => api.get<PrivateApp>(`/manage/private-apps/${appId}`), [appId]);

  if (loaded.data === undefined) {
    return (
      <Modal title="Private app" onClose={onClosed} size="large" name="app">
        {loaded.error === undefined ? (
          <Loading what="the app" />
        ) : (
          <ErrorNotice error={loaded.error} />
        )}
      </Modal>
    );
  }
  return <AppEditor initial={loaded.data} onChanged={onChanged} onClosed={onClosed} />;
}

export interface Draft {
  name: string;
  description: string;
  permissions: PermissionSet;
  /** As typed: empty means the workspace default. */
  rateLimit: string;
  /** One address or CIDR range a line; empty allows every address. */
  ipAllowlist: string;
}

const TABS = [
  { id: 'info', title: 'Info' },
  { id: 'permissions', title: 'Permissions' },
  { id: 'logs', title: 'Logs' },
] as const;
type TabId = (typeof TABS)[number]['id'];

function draftOf(app: PrivateApp): Draft {
  return {
    name: app.name,
    description: app.description,
    permissions: app.permissions,
    rateLimit: app.rateLimitPerSecond === null ? '' : String(app.rateLimitPerSecond),
    ipAllowlist: app.ipAllowlist.join('\n'),
  };
}

function allowlistOf(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** The fields of a PATCH: only what differs from the saved app. */
function changesOf(app: PrivateApp, draft: Draft): Record<string, unknown> | string {
  const changes: Record<string, unknown> = {};
  const name = draft.name.trim();
  if (name === '') return 'The app needs a name.';
  if (name !== app.name) changes.name = name;
  if (draft.description !== app.description) changes.description = draft.description;
  if (!samePermissions(draft.permissions, app.permissions)) changes.permissions = draft.permissions;

  const limitText = draft.rateLimit.trim();
  const limit = limitText === '' ? null : Number(limitText);
  if (limit !== null && (!Number.isInteger(limit) || limit < 1 || limit > 10_000)) {
    return 'The rate limit must be a whole number from 1 to 10000, or empty.';
  }
  if (limit !== app.rateLimitPerSecond) changes.rateLimitPerSecond = limit;

  const allowlist = allowlistOf(draft.ipAllowlist);
  if (allowlist.join('\n') !== app.ipAllowlist.join('\n')) changes.ipAllowlist = allowlist;
  return changes;
}

function AppEditor({
  initial,
  onChanged,
  onClosed,
}: {
  initial: PrivateApp;
  onChanged(app: PrivateApp): void;
  onClosed(): void;
}) {
  const { session, allowed } = useSession();
  const canUpdate = allowed('ServiceAccount', 'update');
  const [saved, setSaved] = useState(initial);
  const [draft, setDraft] = useState(() => draftOf(initial));
  const [tab, setTab] = useState<TabId>('info');
  const [pendingLeave, setPendingLeave] = useState<(() => void) | undefined>(undefined);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState('');

  const changes = changesOf(saved, draft);
  const dirty = typeof changes === 'string' || Object.keys(changes).length > 0;

  useEffect(() => {
    if (!dirty) return;
    setNavigationGuard((proceed) => setPendingLeave(() => proceed));
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => {
      setNavigationGuard(undefined);
      window.removeEventListener('beforeunload', warn);
    };
  }, [dirty]);

  const adopt = (app: PrivateApp) => {
    setSaved(app);
    onChanged(app);
  };

  const save = async () => {
    if (typeof changes === 'string') {
      setSaveError(changes);
      return;
    }
    setSaving(true);
    setSaveError(undefined);
    try {
      const app = await api.patch<PrivateApp>(`/manage/private-apps/${saved.id}`, changes);
      adopt(app);
      setDraft(draftOf(app));
      setStatus('Saved');
    } catch (error) {
      setSaveError(describeError(error));
    } finally {
      setSaving(false);
    }
  };

  const close = () => {
    if (dirty) setPendingLeave(() => onClosed);
    else onClosed();
  };

  const discard = () => {
    const proceed = pendingLeave;
    setPendingLeave(undefined);
    setNavigationGuard(undefined);
    proceed?.();
  };

  return (
    <Modal
      name="app"
      size="large"
      onClose={close}
      title={
        <>
          {saved.name}
          {saved.enabled ? null : <span className="badge badge-muted">Disabled</span>}
        </>
      }
      headerActions={
        canUpdate ? (
          <>
            <span className="save-state" role="status">
              {saving ? 'Saving…' : dirty ? 'Unsaved changes' : status}
            </span>
            <button
              type="button"
              className="button button-primary"
              disabled={!dirty || saving}
              onClick={() => void save()}
            >
              Save
            </button>
          </>
        ) : null
      }
    >
      {saveError === undefined ? null : (
        <p className="notice notice-error" role="alert">
          {saveError}
        </p>
      )}
      <Tabs current={tab} onSelect={setTab} />
      <div
        role="tabpanel"
        id={`app-panel-${tab}`}
        aria-labelledby={`app-tab-${tab}`}
        className="tab-panel"
      >
        {tab === 'info' ? (
          <InfoTab
            app={saved}
            draft={draft}
            readOnly={!canUpdate}
            onDraft={(patch) => setDraft((current) => ({ ...current, ...patch }))}
            onTokensChanged={(tokenCount) => adopt({ ...saved, tokenCount })}
          />
        ) : null}
        {tab === 'permissions' ? (
          <>
            <p className="muted">
              What this app&apos;s tokens may do. Nobody can give an app more than they hold
              themselves.
            </p>
            <PermissionGrid
              label={`Permissions of ${saved.name}`}
              value={draft.permissions}
              holder={session.permissions}
              {...(canUpdate
                ? {
                    onChange: (permissions) => setDraft((current) => ({ ...current, permissions })),
                  }
                : {})}
            />
          </>
        ) : null}
        {tab === 'logs' ? (
          <LogsTab
            app={saved}
            unsavedPermissions={!samePermissions(draft.permissions, saved.permissions)}
            canApply={canUpdate}
            onApplied={(app) => {
              adopt(app);
              setDraft((current) => ({ ...current, permissions: app.permissions }));
            }}
          />
        ) : null}
      </div>

      {pendingLeave === undefined ? null : (
        <ConfirmDialog
          title="Discard unsaved changes?"
          confirmLabel="Discard changes"
          cancelLabel="Keep editing"
          danger
          onCancel={() => setPendingLeave(undefined)}
          onConfirm={discard}
        >
          <p>Your changes to {saved.name} have not been saved. Leaving now loses them.</p>
        </ConfirmDialog>
      )}
    </Modal>
  );
}

function Tabs({ current, onSelect }: { current: TabId; onSelect(tab: TabId): void }) {
  // Arrow keys move between tabs, as people expect of a tab list.
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const index = TABS.findIndex((tab) => tab.id === current);
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (step === 0) return;
    event.preventDefault();
    const next = TABS[(index + step + TABS.length) % TABS.length];
    if (next === undefined) return;
    onSelect(next.id);
    document.getElementById(`app-tab-${next.id}`)?.focus();
  };

  return (
    <div role="tablist" aria-label="App sections" className="tabs" onKeyDown={onKeyDown}>
      {TABS.map((tab) => (
        <button
          key={tab.id}
          type="button"
          role="tab"
          id={`app-tab-${tab.id}`}
          aria-selected={tab.id === current}
          aria-controls={`app-panel-${tab.id}`}
          tabIndex={tab.id === current ? 0 : -1}
          className="tab"
          onClick={() => onSelect(tab.id)}
        >
          {tab.title}
        </button>
      ))}
    </div>
  );
}
