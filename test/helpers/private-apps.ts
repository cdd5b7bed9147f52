import type { PermissionSet } from '../../src/permissions/permission-set.js';
import type { Session, TestApp } from './test-app.js';

export interface CreatedApp {
  id: string;
  token: string;
  tokenId: string;
}

/** Creates a private app with the given permissions and one token, through the API. */
export async function createAppWithToken(
  t: TestApp,
  session: Session,
  permissions: PermissionSet,
  name = 'Integration',
): Promise<CreatedApp> {
  const created = await t.as(session, {
    method: 'POST',
    url: '/manage/private-apps',
    payload: { name },
  });
  if (created.statusCode !== 200) throw new Error(`create app: ${created.body}`);
  const id = created.json<{ id: string }>().id;
  const saved = await t.as(session, {
    method: 'PATCH',
    url: `/manage/private-apps/${id}`,
    payload: { permissions },
  });
  if (saved.statusCode !== 200) throw new Error(`save permissions: ${saved.body}`);
  const issued = await t.as(session, {
    method: 'POST',
    url: `/manage/private-apps/${id}/tokens`,
    payload: { label: 'test' },
  });
  if (issued.statusCode !== 200) throw new Error(`create token: ${issued.body}`);
  const body = issued.json<{ token: string; info: { id: string } }>();
  return { id, token: body.token, tokenId: body.info.id };
}

export function bearer(token: string) {
  return { authorization: `Bearer ${token}` };
}
