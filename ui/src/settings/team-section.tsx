import { useState, type FormEvent } from 'react';
import { api, describeError } from '../api';
import { CopyButton } from '../components/copy-button';
import { PlusIcon } from '../components/icons';
import { Modal } from '../components/modal';
import { ErrorNotice, Loading } from '../components/notice';
import { memberName } from '../format';
import { useSession } from '../session';
import type { Member, Role } from '../types';
import { useAsync } from '../use-async';

/** Team members: people who log in. Private apps are accounts too, but never listed here. */
export function TeamSection() {
  const { allowed, session } = useSession();
  const members = useAsync(() => api.get<Member[]>('/manage/members'), []);
  const canSeeRoles = allowed('Role', 'view');
  const roles = useAsync(
    () => (canSeeRoles ? api.get<Role[]>('/manage/roles') : Promise.resolve([])),
    [canSeeRoles],
  );
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<Member | undefined>(undefined);

  const roleName = (id: string) => roles.data?.find((role) => role.id === id)?.name ?? 'Role';
  const upsert = (member: Member) =>
    members.setData((current) => {
      const list = current ?? [];
      const known = list.some((item) => item.id === member.id);
      return known
        ? list.map((item) => (item.id === member.id ? member : item))
        : [...list, member];
    });

  return (
    <section aria-labelledby="team-title">
      <div className="page-header">
        <h1 id="team-title">Team members</h1>
        {allowed('User', 'create') ? (
          <button type="button" className="button button-primary" onClick={() => setAdding(true)}>
            <PlusIcon /> Add member
          </button>
        ) : null}
      </div>
      <p className="muted page-intro">
        The people who log in to this workspace. Private apps are not team members and never appear
        here; find them in App Center.
      </p>
      <ErrorNotice error={members.error} />
      {members.data === undefined && members.error === undefined ? (
        <Loading what="the team" />
      ) : null}
      {members.data === undefined ? null : (
        <table className="data-table responsive" aria-label="Team members">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Roles</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {members.data.map((member) => (
              <tr
                key={member.id}
                data-member-id={member.id}
                className={member.inactive ? 'row-disabled' : ''}
              >
                <td data-label="Name">
                  {memberName(member)}
                  {member.id === session.member.id ? (
                    <span className="badge badge-muted">You</span>
                  ) : null}
                </td>
                <td data-label="Email">{member.email}</td>
                <td data-label="Roles">{member.roleIds.map(roleName).join(', ')}</td>
                <td data-label="Status">{member.inactive ? 'Deactivated' : 'Active'}</td>
                <td className="cell-actions">
                  {allowed('User', 'update') ? (
                    <button
                      type="button"
                      className="button button-small"
                      aria-label={`Edit ${memberName(member)}`}
                      onClick={() => setEditing(member)}
                    >
                      Edit
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {adding ? (
        <AddMemberDialog
          roles={roles.data ?? []}
          onClose={() => setAdding(false)}
          onAdded={upsert}
        />
      ) : null}
      {editing === undefined ? null : (
        <EditMemberDialog
          member={editing}
          self={editing.id === session.member.id}
          roles={roles.data ?? []}
          onClose={() => setEditing(undefined)}
          onSaved={(member) => {
            upsert(member);
            setEditing(undefined);
          }}
        />
      )}
    </section>
  );
}

function RolePicker({
  roles,
  value,
  onChange,
}: {
  roles: Role[];
  value: string[];
  onChange(next: string[]): void;
}) {
  if (roles.length === 0) return <p className="muted">Your role cannot list roles.</p>;
  return (
    <fieldset className="role-picker">
      <legend>Roles</legend>
      {roles.map((role) => (
        <label key={role.id} className="check">
          <input
            type="checkbox"
            checked={value.includes(role.id)}
            onChange={(event) =>
              onChange(
                event.target.checked ? [...value, role.id] : value.filter((id) => id !== role.id),
              )
            }
          />
          <span>
            {role.name}
            {role.description === '' ? null : <span className="hint"> {role.description}</span>}
          </span>
        </label>
      ))}
    </fieldset>
  );
}

function AddMemberDialog({
  roles,
  onClose,
  onAdded,
}: {
  roles: Role[];
  onClose(): void;
  onAdded(member: Member): void;
}) {
  const [email, setEmail] = useState('');
  const [firstName, setFirstName] = useState('');
  const [lastName, setLastName] = useState('');
  const [password, setPassword] = useState('');
  const [roleIds, setRoleIds] = useState<string[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [generated, setGenerated] = useState<{ member: Member; password: string } | undefined>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const result = await api.post<{ member: Member; password?: string }>('/manage/members', {
        email: email.trim(),
        firstName: firstName.trim(),
        lastName: lastName.trim(),
        roleIds,
        ...(password === '' ? {} : { password }),
      });
      onAdded(result.member);
      if (result.password === undefined) onClose();
      else setGenerated({ member: result.member, password: result.password });
    } catch (reason) {
      setError(describeError(reason));
    } finally {
      setBusy(false);
    }
  };

  if (generated !== undefined) {
    return (
      <Modal title="Member added" onClose={onClose} size="small" name="member-added">
        <div className="new-token">
          <p className="new-token-warning">
            <strong>Pass this password on now.</strong> {generated.member.email} logs in with it;
            App Center will not show it again.
          </p>
          <div className="new-token-value">
            <input readOnly aria-label="Generated password" value={generated.password} />
            <CopyButton text={generated.password} description="Copy the password" />
          </div>
          <button type="button" className="button" onClick={onClose}>
            Done
          </button>
        </div>
      </Modal>
    );
  }

  return (
    <Modal
      title="Add a team member"
      onClose={onClose}
      size="small"
      name="add-member"
      initialFocus="#member-email"
    >
      <form className="stack" onSubmit={submit}>
        <label className="field">
          <span>Email</span>
          <input
            id="member-email"
            type="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <div className="form-grid">
          <label className="field">
            <span>First name</span>
            <input value={firstName} onChange={(e) => setFirstName(e.target.value)} />
          </label>
          <label className="field">
            <span>Last name</span>
            <input value={lastName} onChange={(e) => setLastName(e.target.value)} />
          </label>
        </div>
        <label className="field">
          <span>Password (optional)</span>
          <input
            type="password"
            autoComplete="new-password"
            minLength={12}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <span className="hint">At least 12 characters. Leave empty to generate one.</span>
        </label>
        <RolePicker roles={roles} value={roleIds} onChange={setRoleIds} />
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
            Add member
          </button>
        </div>
      </form>
    </Modal>
  );
}

function EditMemberDialog({
  member,
  self,
  roles,
  onClose,
  onSaved,
}: {
  member: Member;
  self: boolean;
  roles: Role[];
  onClose(): void;
  onSaved(member: Member): void;
}) {
  const [firstName, setFirstName] = useState(member.firstName);
  const [lastName, setLastName] = useState(member.lastName);
  const [roleIds, setRoleIds] = useState(member.roleIds);
  const [active, setActive] = useState(!member.inactive);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const changes: Record<string, unknown> = {};
    if (firstName.trim() !== member.firstName) changes.firstName = firstName.trim();
    if (lastName.trim() !== member.lastName) changes.lastName = lastName.trim();
    if (roleIds.join() !== member.roleIds.join()) changes.roleIds = roleIds;
    if (active === member.inactive) changes.inactive = !active;
    if (Object.keys(changes).length === 0) {
      onClose();
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      onSaved(await api.patch<Member>(`/manage/members/${member.id}`, changes));
    } catch (reason) {
      setError(describeError(reason));
      setBusy(false);
    }
  };

  return (
    <Modal title={`Edit ${memberName(member)}`} onClose={onClose} size="small" name="edit-member">
      <form className="stack" onSubmit={submit}>
        <p className="muted">{member.email}</p>
        <div className="form-grid">
          <label className="field">
            <span>First name</span>
            <input value={firstName} onChange={(e) => setFirstName(e.target.value)} />
          </label>
          <label className="field">
            <span>Last name</span>
            <input value={lastName} onChange={(e) => setLastName(e.target.value)} />
          </label>
        </div>
        <RolePicker roles={roles} value={roleIds} onChange={setRoleIds} />
        <label className="check">
          <input
            type="checkbox"
            checked={active}
            disabled={self}
            onChange={(e) => setActive(e.target.checked)}
          />
          <span>
            Active
            <span className="hint">
              {self
                ? ' You cannot deactivate yourself.'
                : ' Deactivating ends their sessions at once.'}
            </span>
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
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}
