import { useState, type FormEvent } from 'react';
import { api, describeError } from '../api';
import { PlusIcon } from '../components/icons';
import { Modal } from '../components/modal';
import { navigate } from '../router';
import { useSession } from '../session';
import type { CopyFrom, PrivateApp, Role } from '../types';
import { useAsync } from '../use-async';

const LIBRARY_ROUTE = '/app-center/library';

export interface AppsLibraryDialogProps {
  /** The create dialog is open over the library. */
  creating: boolean;
  onClose(): void;
  onCreated(app: PrivateApp): void;
}

/** The Apps Library: where new apps come from. Private apps are the kind App Center has. */
export function AppsLibraryDialog({ creating, onClose, onCreated }: AppsLibraryDialogProps) {
  const { allowed } = useSession();
  const canCreate = allowed('ServiceAccount', 'create');

  return (
    <Modal title="Apps Library" onClose={onClose} size="medium" name="apps-library">
      {canCreate ? (
        <div className="library-toolbar">
          <a className="button button-primary" href={`#${LIBRARY_ROUTE}/private-app`}>
            <PlusIcon /> Private app
          </a>
        </div>
      ) : null}
      <div className="library-card">
        <h3>Private app</h3>
        <p>
          Build your own integration against the main API. A private app holds API Access Tokens and
          the permissions that decide what those tokens may do.
        </p>
        {canCreate ? (
          <a className="button" href={`#${LIBRARY_ROUTE}/private-app`}>
            Create a private app
          </a>
        ) : (
          <p className="muted">Your role cannot create private apps.</p>
        )}
      </div>
      <p className="muted">
        Usage data (user activities and custom metrics) goes to the analytics endpoint with the
        Tenant Token instead; find it in Settings.
      </p>
      {creating && canCreate ? (
        <CreateAppDialog onClose={() => navigate(LIBRARY_ROUTE)} onCreated={onCreated} />
      ) : null}
    </Modal>
  );
}

interface CreateAppDialogProps {
  onClose(): void;
  onCreated(app: PrivateApp): void;
}

const SCRATCH = 'scratch';

/** Name the app and pick where its first permissions come from. */
export function CreateAppDialog({ onClose, onCreated }: CreateAppDialogProps) {
  const { allowed } = useSession();
  const [name, setName] = useState('');
  const [source, setSource] = useState(SCRATCH);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const apps = useAsync(() => api.get<PrivateApp[]>('/manage/private-apps'), []);
  const canSeeRoles = allowed('Role', 'view');
  const roles = useAsync(
    () => (canSeeRoles ? api.get<Role[]>('/manage/roles') : Promise.resolve([])),
    [canSeeRoles],
  );

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    if (trimmed === '') {
      setError('Give the app a name.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const app = await api.post<PrivateApp>('/manage/private-apps', {
        name: trimmed,
        copyFrom: copyFrom(source),
      });
      onCreated(app);
    } catch (reason) {
      setError(describeError(reason));
      setBusy(false);
    }
  };

  return (
    <Modal
      title="New private app"
      onClose={onClose}
      size="small"
      name="create-app"
      initialFocus="#create-app-name"
    >
      <form className="stack" onSubmit={submit} noValidate>
        <label className="field">
          <span>Name</span>
          <input
            id="create-app-name"
            value={name}
            maxLength={200}
            required
            aria-invalid={error !== undefined && name.trim() === ''}
            onChange={(event) => setName(event.target.value)}
          />
        </label>
        <label className="field">
          <span>Copy permissions from</span>
          <select value={source} onChange={(event) => setSource(event.target.value)}>
            <option value={SCRATCH}>Start from scratch (no permissions)</option>
            {(apps.data ?? []).length === 0 ? null : (
              <optgroup label="Private apps">
                {(apps.data ?? []).map((app) => (
                  <option key={app.id} value={`app:${app.id}`}>
                    {app.name}
                  </option>
                ))}
              </optgroup>
            )}
            {(roles.data ?? []).length === 0 ? null : (
              <optgroup label="Roles">
                {(roles.data ?? []).map((role) => (
                  <option key={role.id} value={`role:${role.id}`}>
                    {role.name}
                  </option>
                ))}
              </optgroup>
            )}
          </select>
          <span className="hint">
            You can change the permissions later, on the app&apos;s Permissions tab.
          </span>
        </label>
        {error === undefined ? null : (
          <p className="notice notice-error" role="alert">
            {error}
          </p>
        )}
        <div className="form-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function copyFrom(source: string): CopyFrom {
  const [type, id] = source.split(':');
  if (type === 'app' && id !== undefined) return { type: 'app', id };
  if (type === 'role' && id !== undefined) return { type: 'role', id };
  return { type: 'scratch' };
}
