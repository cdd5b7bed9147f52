import { useState } from 'react';
import { api, describeError } from '../api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { BinIcon, PlusIcon } from '../components/icons';
import { ErrorNotice, Loading } from '../components/notice';
import { Switch } from '../components/switch';
import { formatDateTime, formatRelative } from '../format';
import { navigate, routeParts } from '../router';
import { useSession } from '../session';
import type { PrivateApp } from '../types';
import { useAsync } from '../use-async';
import { AppDialog } from './app-dialog';
import { AppsLibraryDialog } from './create-app-dialog';

export const LIST_ROUTE = '/app-center/private-apps';

/**
 * The App Center global tool. Its Private apps part exists only for members who may view
 * the ServiceAccount model; the dialogs open over the list, each at its own route.
 */
export function AppCenterPage({ route }: { route: string }) {
  const { allowed } = useSession();
  const [, section, id] = routeParts(route);

  if (!allowed('ServiceAccount', 'view')) {
    return (
      <>
        <h1>App Center</h1>
        <p className="muted">
          Your role gives no access to any app here. An administrator can change your role in
          Settings.
        </p>
      </>
    );
  }

  return (
    <PrivateAppsList
      library={section === 'library' ? (id ?? 'open') : undefined}
      openAppId={section === 'private-apps' ? id : undefined}
    />
  );
}

function PrivateAppsList({
  library,
  openAppId,
}: {
  library: string | undefined;
  openAppId: string | undefined;
}) {
  const { allowed } = useSession();
  const apps = useAsync(() => api.get<PrivateApp[]>('/manage/private-apps'), []);
  const [toDelete, setToDelete] = useState<PrivateApp | undefined>(undefined);
  const [actionError, setActionError] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);

  const replace = (app: PrivateApp) =>
    apps.setData((current) => (current ?? []).map((item) => (item.id === app.id ? app : item)));

  const setEnabled = async (app: PrivateApp, enabled: boolean) => {
    setActionError(undefined);
    replace({ ...app, enabled });
    try {
      replace(await api.patch<PrivateApp>(`/manage/private-apps/${app.id}`, { enabled }));
      setStatus(`${app.name} is ${enabled ? 'enabled' : 'disabled'}`);
    } catch (error) {
      replace(app);
      setActionError(describeError(error));
    }
  };

  const remove = async (app: PrivateApp) => {
    setBusy(true);
    setActionError(undefined);
    try {
      await api.delete(`/manage/private-apps/${app.id}`);
      apps.setData((current) => (current ?? []).filter((item) => item.id !== app.id));
      setStatus(`${app.name} was deleted`);
    } catch (error) {
      setActionError(describeError(error));
    } finally {
      setBusy(false);
      setToDelete(undefined);
    }
  };

  const list = apps.data ?? [];
  const canUpdate = allowed('ServiceAccount', 'update');
  const canRemove = allowed('ServiceAccount', 'remove');
  const canCreate = allowed('ServiceAccount', 'create');

  return (
    <>
      <div className="page-header">
        <div>
          <p className="eyebrow">App Center</p>
          <h1>Private apps</h1>
        </div>
        {canCreate ? (
          <a className="button button-primary" href="#/app-center/library">
            <PlusIcon /> New app
          </a>
        ) : null}
      </div>
      <p className="muted page-intro">
        A private app is an account for one of your own integrations. Its API Access Tokens call the
        main API with the permissions you give the app. Private apps are not team members and cannot
        log in.
      </p>

      <p role="status" className="visually-hidden">
        {status}
      </p>
      {actionError === undefined ? null : (
        <p className="notice notice-error" role="alert">
          {actionError}
        </p>
      )}
      <ErrorNotice error={apps.error} />
      {apps.loading && apps.data === undefined ? <Loading what="private apps" /> : null}

      {apps.data !== undefined && list.length === 0 ? (
        <div className="empty-state">
          <p>No private apps yet.</p>
          {canCreate ? <p>Choose New app, then Private app, to create the first one.</p> : null}
        </div>
      ) : null}

      {list.length === 0 ? null : (
        <table className="data-table responsive apps-table" aria-label="Private apps">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Enabled</th>
              <th scope="col">Tokens</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span className="visually-hidden">Delete</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.map((app) => (
              <tr key={app.id} data-app-id={app.id} className={app.enabled ? '' : 'row-disabled'}>
                <td data-label="Name">
                  <a className="row-link" href={`#${LIST_ROUTE}/${app.id}`}>
                    {app.name}
                  </a>
                </td>
                <td data-label="Description" className="cell-description">
                  {app.description === '' ? (
                    <span className="muted">No description</span>
                  ) : (
                    app.description
                  )}
                </td>
                <td data-label="Enabled">
                  <Switch
                    checked={app.enabled}
                    label={`Enable ${app.name}`}
                    disabled={!canUpdate}
                    onChange={(next) => void setEnabled(app, next)}
                  />
                </td>
                <td data-label="Tokens">{app.tokenCount}</td>
                <td data-label="Last used">
                  {app.lastUsedAt === null ? (
                    <span className="muted">Never</span>
                  ) : (
                    <time dateTime={app.lastUsedAt} title={formatDateTime(app.lastUsedAt)}>
                      {formatRelative(app.lastUsedAt)}
                    </time>
                  )}
                </td>
                <td className="cell-actions">
                  {canRemove ? (
                    <button
                      type="button"
                      className="icon-button icon-button-danger"
                      aria-label={`Delete ${app.name}`}
                      title={`Delete ${app.name}`}
                      onClick={() => setToDelete(app)}
                    >
                      <BinIcon />
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {toDelete === undefined ? null : (
        <ConfirmDialog
          title={`Delete ${toDelete.name}?`}
          confirmLabel="Delete app"
          danger
          busy={busy}
          onCancel={() => setToDelete(undefined)}
          onConfirm={() => void remove(toDelete)}
        >
          <p>
            Its {toDelete.tokenCount} API Access Token{toDelete.tokenCount === 1 ? '' : 's'} stop
            working at once, and any integration using them is refused. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}

      {library === undefined ? null : (
        <AppsLibraryDialog
          creating={library === 'private-app'}
          onClose={() => navigate(LIST_ROUTE)}
          onCreated={(app) => {
            apps.setData((current) => [...(current ?? []), app]);
            navigate(`${LIST_ROUTE}/${app.id}`);
          }}
        />
      )}

      {openAppId === undefined ? null : (
        <AppDialog
          key={openAppId}
          appId={openAppId}
          onChanged={(app) => replace(app)}
          onClosed={() => navigate(LIST_ROUTE)}
        />
      )}
    </>
  );
}
