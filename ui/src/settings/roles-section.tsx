import { useEffect, useState } from 'react';
import { api, describeError, query } from '../api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { PlusIcon } from '../components/icons';
import { Modal } from '../components/modal';
import { ErrorNotice, Loading } from '../components/notice';
import { PermissionGrid } from '../components/permission-grid';
import { listGrants, samePermissions } from '../permissions';
import { setNavigationGuard } from '../router';
import { useSession } from '../session';
import type { PermissionSet, Role } from '../types';
import { useAsync } from '../use-async';

const EMPTY: PermissionSet = { models: {}, fields: {} };

export function RolesSection() {
  const { allowed } = useSession();
  const roles = useAsync(() => api.get<Role[]>('/manage/roles'), []);
  const [editing, setEditing] = useState<Role | 'new' | undefined>(undefined);

  return (
    <section aria-labelledby="roles-title">
      <div className="page-header">
        <h1 id="roles-title">Roles</h1>
        {allowed('Role', 'create') ? (
          <button type="button" className="button button-primary" onClick={() => setEditing('new')}>
            <PlusIcon /> New role
          </button>
        ) : null}
      </div>
      <p className="muted page-intro">
        A role is a set of permissions for team members, on the same grid as private apps. A member
        holding several roles may do what any of them allows.
      </p>
      <ErrorNotice error={roles.error} />
      {roles.data === undefined && roles.error === undefined ? <Loading what="roles" /> : null}
      {roles.data === undefined ? null : (
        <table className="data-table responsive" aria-label="Roles">
          <thead>
            <tr>
              <th scope="col">Role</th>
              <th scope="col">Description</th>
              <th scope="col">Members</th>
              <th scope="col">Permissions</th>
            </tr>
          </thead>
          <tbody>
            {roles.data.map((role) => (
              <tr key={role.id} data-role-id={role.id}>
                <td data-label="Role">
                  <button
                    type="button"
                    className="link-button row-link"
                    onClick={() => setEditing(role)}
                  >
                    {role.name}
                  </button>
                  {role.builtin ? <span className="badge badge-muted">Built in</span> : null}
                </td>
                <td data-label="Description" className="cell-description">
                  {role.description}
                </td>
                <td data-label="Members">{role.memberCount}</td>
                <td data-label="Permissions">{listGrants(role.permissions).length} granted</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing === undefined ? null : (
        <RoleDialog
          role={editing === 'new' ? undefined : editing}
          roles={roles.data ?? []}
          onClose={() => setEditing(undefined)}
          onSaved={() => {
            setEditing(undefined);
            roles.reload();
          }}
        />
      )}
    </section>
  );
}

function RoleDialog({
  role,
  roles,
  onClose,
  onSaved,
}: {
  role: Role | undefined;
  roles: Role[];
  onClose(): void;
  onSaved(): void;
}) {
  const { session, allowed } = useSession();
  const canWrite = role === undefined ? allowed('Role', 'create') : allowed('Role', 'update');
  const [name, setName] = useState(role?.name ?? '');
  const [description, setDescription] = useState(role?.description ?? '');
  const [permissions, setPermissions] = useState(role?.permissions ?? EMPTY);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [leaving, setLeaving] = useState<(() => void) | undefined>(undefined);
  const [deleting, setDeleting] = useState(false);
  const [moveTo, setMoveTo] = useState('');

  const dirty =
    name !== (role?.name ?? '') ||
    description !== (role?.description ?? '') ||
    !samePermissions(permissions, role?.permissions ?? EMPTY);

  useEffect(() => {
    if (!dirty) return;
    setNavigationGuard((proceed) => setLeaving(() => proceed));
    return () => setNavigationGuard(undefined);
  }, [dirty]);

  const save = async () => {
    if (name.trim() === '') {
      setError('Give the role a name.');
      return;
    }
    setBusy(true);
    setError(undefined);
    const body = { name: name.trim(), description, permissions };
    try {
      if (role === undefined) await api.post<Role>('/manage/roles', body);
      else await api.patch<Role>(`/manage/roles/${role.id}`, body);
      setNavigationGuard(undefined);
      onSaved();
    } catch (reason) {
      setError(describeError(reason));
      setBusy(false);
    }
  };

  const remove = async () => {
    if (role === undefined) return;
    setBusy(true);
    setError(undefined);
    try {
      await api.delete(`/manage/roles/${role.id}${query({ moveTo })}`);
      setNavigationGuard(undefined);
      onSaved();
    } catch (reason) {
      setError(describeError(reason));
      setBusy(false);
      setDeleting(false);
    }
  };

  const close = () => {
    if (dirty) setLeaving(() => onClose);
    else onClose();
  };

  const others = roles.filter((item) => item.id !== role?.id);
  const inUse = (role?.memberCount ?? 0) > 0;

  return (
    <Modal
      title={role === undefined ? 'New role' : role.name}
      onClose={close}
      size="large"
      name="role"
      initialFocus="#role-name"
      headerActions={
        canWrite ? (
          <button
            type="button"
            className="button button-primary"
            disabled={busy || (!dirty && role !== undefined)}
            onClick={() => void save()}
          >
            Save
          </button>
        ) : null
      }
    >
      <div className="stack">
        {error === undefined ? null : (
          <p className="notice notice-error" role="alert">
            {error}
          </p>
        )}
        <div className="form-grid">
          <label className="field">
            <span>Name</span>
            <input
              id="role-name"
              value={name}
              maxLength={100}
              readOnly={!canWrite}
              onChange={(e) => setName(e.target.value)}
            />
          </label>
          <label className="field">
            <span>Description</span>
            <input
              value={description}
              maxLength={2000}
              readOnly={!canWrite}
              onChange={(e) => setDescription(e.target.value)}
            />
          </label>
        </div>
        <PermissionGrid
          label={`Permissions of ${role?.name ?? 'the new role'}`}
          value={permissions}
          holder={session.permissions}
          {...(canWrite ? { onChange: setPermissions } : {})}
        />
        {role !== undefined && allowed('Role', 'remove') ? (
          <div className="danger-zone">
            <button
              type="button"
              className="button button-danger-outline"
              onClick={() => setDeleting(true)}
            >
              Delete role
            </button>
          </div>
        ) : null}
      </div>

      {deleting && role !== undefined ? (
        <ConfirmDialog
          title={`Delete ${role.name}?`}
          confirmLabel="Delete role"
          danger
          busy={busy || (inUse && moveTo === '')}
          onCancel={() => setDeleting(false)}
          onConfirm={() => void remove()}
        >
          {inUse ? (
            <label className="field">
              <span>
                {role.memberCount} member{role.memberCount === 1 ? ' holds' : 's hold'} this role.
                Move them to
              </span>
              <select value={moveTo} onChange={(e) => setMoveTo(e.target.value)}>
                <option value="">Choose a role</option>
                {others.map((item) => (
                  <option key={item.id} value={item.id}>
                    {item.name}
                  </option>
                ))}
              </select>
            </label>
          ) : (
            <p>No member holds this role.</p>
          )}
        </ConfirmDialog>
      ) : null}
      {leaving === undefined ? null : (
        <ConfirmDialog
          title="Discard unsaved changes?"
          confirmLabel="Discard changes"
          cancelLabel="Keep editing"
          danger
          onCancel={() => setLeaving(undefined)}
          onConfirm={() => {
            const proceed = leaving;
            setLeaving(undefined);
            setNavigationGuard(undefined);
            proceed();
          }}
        >
          <p>The changes to this role have not been saved.</p>
        </ConfirmDialog>
      )}
    </Modal>
  );
}
