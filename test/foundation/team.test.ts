import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/audit.repository.js';
import { createTestApp, type Session, type TestApp } from '../helpers/test-app.js';

const PASSWORD = 'a long enough password';

describe('team members, roles and settings', () => {
  let t: TestApp;
  let admin: Session;
  beforeEach(async () => {
    t = await createTestApp();
    admin = await t.login();
  });
  afterEach(async () => {
    await t.close();
  });

  async function roles(): Promise<Array<{ id: string; name: string; memberCount: number }>> {
    return (await t.as(admin, { method: 'GET', url: '/manage/roles' })).json();
  }
  async function roleId(name: string) {
    const role = (await roles()).find((r) => r.name === name);
    if (role === undefined) throw new Error(name);
    return role.id;
  }
  async function addMember(email: string, role: string, password: string | undefined = PASSWORD) {
    return t.as(admin, {
      method: 'POST',
      url: '/manage/members',
      payload: {
        email,
        firstName: 'Ann',
        lastName: 'Lee',
        password,
        roleIds: [await roleId(role)],
      },
    });
  }

  it('starts every workspace with the four default roles', async () => {
    expect((await roles()).map((r) => r.name).sort()).toEqual([
      'Administrator',
      'CSM',
      'Developer',
      'Manager',
    ]);
  });

  it('adds a member with a generated password shown once, who can then log in', async () => {
    const added = await t.as(admin, {
      method: 'POST',
      url: '/manage/members',
      payload: { email: 'ann@acme.test', roleIds: [await roleId('CSM')] },
    });
    expect(added.statusCode).toBe(200);
    const { member, password } = added.json();
    expect(password).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(member).not.toHaveProperty('passwordHash');
    await t.login('ann@acme.test', password);
    const list = await t.as(admin, { method: 'GET', url: '/manage/members' });
    expect(list.body).not.toContain(password);
    expect(list.json()).toHaveLength(2);
  });

  it('refuses a duplicate email, unknown fields and bad types with the field named', async () => {
    await addMember('ann@acme.test', 'CSM');
    const duplicate = await addMember('ANN@acme.test', 'CSM');
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json().field).toBe('email');

    const unknown = await t.as(admin, {
      method: 'POST',
      url: '/manage/members',
      payload: { email: 'bo@acme.test', roleIds: [], isRoot: true },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().field).toBe('isRoot');

    const wrongType = await t.as(admin, {
      method: 'POST',
      url: '/manage/members',
      payload: { email: 'bo@acme.test', roleIds: 'all' },
    });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().field).toBe('roleIds');
  });

  it('deactivates a member, ending their sessions and refusing their logins', async () => {
    const { member } = (await addMember('ann@acme.test', 'CSM')).json();
    const session = await t.login('ann@acme.test', PASSWORD);
    const deactivated = await t.as(admin, {
      method: 'PATCH',
      url: `/manage/members/${member.id}`,
      payload: { inactive: true },
    });
    expect(deactivated.json().inactive).toBe(true);
    expect((await t.as(session, { method: 'GET', url: '/auth/me' })).statusCode).toBe(401);
    await expect(t.login('ann@acme.test', PASSWORD)).rejects.toThrow(/401/);

    const self = await t.as(admin, {
      method: 'PATCH',
      url: `/manage/members/${t.seed.admin.id}`,
      payload: { inactive: true },
    });
    expect(self.statusCode).toBe(400);
  });

  it('gives members the union of their roles’ permissions', async () => {
    const { member } = (await addMember('ann@acme.test', 'CSM')).json();
    await t.as(admin, {
      method: 'PATCH',
      url: `/manage/members/${member.id}`,
      payload: { roleIds: [await roleId('CSM'), await roleId('Developer')] },
    });
    const session = await t.login('ann@acme.test', PASSWORD);
    const me = (await t.as(session, { method: 'GET', url: '/auth/me' })).json();
    expect(me.permissions.models.ServiceAccount.create).toBe(true);
    expect(me.permissions.models.Company.create).toBe(true);
    expect(me.permissions.models.Role).toBeUndefined();
  });

  it('lets no member grant more than they hold', async () => {
    await addMember('dev@acme.test', 'Developer');
    const dev = await t.login('dev@acme.test', PASSWORD);
    const roleless = await t.as(dev, {
      method: 'POST',
      url: '/manage/roles',
      payload: { name: 'Sneaky', permissions: { models: {} } },
    });
    expect(roleless.statusCode).toBe(403);
    expect(roleless.json().permission).toBe('Role.create');

    // An Administrator-made Manager with Role.create cannot mint a stronger role.
    const custom = await t.as(admin, {
      method: 'POST',
      url: '/manage/roles',
      payload: {
        name: 'Role keeper',
        permissions: {
          models: {
            Role: { create: true, view: true, update: true, remove: false, export: false },
            User: { create: true, view: true, update: true, remove: false, export: false },
          },
        },
      },
    });
    expect(custom.statusCode).toBe(200);
    const keeper = await t.as(admin, {
      method: 'POST',
      url: '/manage/members',
      payload: { email: 'keeper@acme.test', password: PASSWORD, roleIds: [custom.json().id] },
    });
    expect(keeper.statusCode).toBe(200);
    const keeperSession = await t.login('keeper@acme.test', PASSWORD);
    const stronger = await t.as(keeperSession, {
      method: 'POST',
      url: '/manage/roles',
      payload: {
        name: 'Stronger',
        permissions: {
          models: {
            Company: { create: true, view: true, update: true, remove: true, export: true },
          },
        },
      },
    });
    expect(stronger.statusCode).toBe(403);
    expect(stronger.json().permission).toBe('Company.create');
    const assign = await t.as(keeperSession, {
      method: 'POST',
      url: '/manage/members',
      payload: { email: 'x@acme.test', roleIds: [await roleId('Administrator')] },
    });
    expect(assign.statusCode).toBe(403);
  });

  it('refuses to delete a role in use unless its members move', async () => {
    await addMember('ann@acme.test', 'CSM');
    const csm = await roleId('CSM');
    const refused = await t.as(admin, { method: 'DELETE', url: `/manage/roles/${csm}` });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().field).toBe('moveTo');

    const manager = await roleId('Manager');
    const moved = await t.as(admin, {
      method: 'DELETE',
      url: `/manage/roles/${csm}?moveTo=${manager}`,
    });
    expect(moved.statusCode).toBe(204);
    const after = await roles();
    expect(after.find((r) => r.name === 'CSM')).toBeUndefined();
    expect(after.find((r) => r.name === 'Manager')?.memberCount).toBe(1);
  });

  it('refuses unknown models in a permission set', async () => {
    const response = await t.as(admin, {
      method: 'POST',
      url: '/manage/roles',
      payload: { name: 'Typo', permissions: { models: { Compnay: {} } } },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().field).toBe('permissions.models.Compnay');
  });

  it('shows the Tenant Token to Settings viewers and regenerates it', async () => {
    const before = await t.as(admin, { method: 'GET', url: '/manage/settings' });
    expect(before.json().tenantToken).toBe(t.seed.workspace.tenantToken);
    const regenerated = await t.as(admin, {
      method: 'POST',
      url: '/manage/settings/tenant-token/regenerate',
    });
    expect(regenerated.json().tenantToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(regenerated.json().tenantToken).not.toBe(t.seed.workspace.tenantToken);

    await addMember('csm@acme.test', 'CSM');
    const csm = await t.login('csm@acme.test', PASSWORD);
    const hidden = await t.as(csm, { method: 'GET', url: '/manage/settings' });
    expect(hidden.statusCode).toBe(403);
    expect(hidden.json().permission).toBe('Settings.view');
  });

  it('audits every change with who, what and when', async () => {
    await addMember('ann@acme.test', 'CSM');
    await t.as(admin, { method: 'POST', url: '/manage/settings/tenant-token/regenerate' });
    const events = await listAudit(t.testDb.database.db, t.seed.workspace.id);
    expect(events.map((e) => e.action)).toEqual([
      'settings.tenantToken.regenerate',
      'member.create',
      'workspace.create',
    ]);
    expect(events[1]?.actor).toEqual({ type: 'member', id: t.seed.admin.id, name: 'Admin' });
    expect(JSON.stringify(events)).not.toContain(t.seed.workspace.tenantToken);
  });

  it('keeps workspaces apart: another workspace’s member is not found', async () => {
    const other = await t.seedWorkspace('Other', 'admin@other.test');
    const response = await t.as(admin, {
      method: 'PATCH',
      url: `/manage/members/${other.admin.id}`,
      payload: { inactive: true },
    });
    expect(response.statusCode).toBe(404);
    const list = await t.as(admin, { method: 'GET', url: '/manage/members' });
    expect(list.body).not.toContain('admin@other.test');
  });
});
