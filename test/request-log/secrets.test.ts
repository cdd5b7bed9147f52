import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { redactedPath } from '../../src/request-log/request-path.js';
import { createAppWithToken, type CreatedApp } from '../helpers/private-apps.js';
import { createTestApp, type Session, type TestApp } from '../helpers/test-app.js';
import { VIEW, storedRows } from './log-helpers.js';

describe('request log secrets', () => {
  let t: TestApp;
  let admin: Session;
  let app: CreatedApp;

  beforeEach(async () => {
    t = await createTestApp();
    admin = await t.login();
    app = await createAppWithToken(t, admin, { models: { Settings: VIEW }, fields: {} });
  });
  afterEach(async () => {
    await t.close();
  });

  it('never stores a token, an Authorization header, a cookie or a Tenant Token', async () => {
    const { token } = app;
    const tenant = t.seed.workspace.tenantToken;
    const encoded = encodeURIComponent(token).replace('_', '%5F');
    const basic = Buffer.from(`${token}:`).toString('base64');
    const query = [
      `access_token=${token}`,
      'apikey=k3y-canary',
      'password=pw-canary',
      'client_secret=secret-canary',
      `note=${token}`,
      `echo=${encoded}`,
      `tenantToken=${tenant}`,
      `workspace=${tenant}`,
      `${token}`,
    ].join('&');
    const cookie = 'app_center_session=cookie-canary; theme=dark-canary';
    const requests = [
      { url: `/myprofile?${query}`, headers: { authorization: `Bearer ${token}`, cookie } },
      { url: `/myprofile/${token}`, headers: { authorization: `Bearer ${token}` } },
      { url: '/myprofile', headers: { authorization: `Basic ${basic}`, 'user-agent': token } },
      { url: '/manage/settings', headers: { authorization: `Bearer ${token}`, cookie } },
      { url: `/manage/private-apps?token=${token}`, headers: { authorization: `Bearer ${token}` } },
    ];
    for (const request of requests) await t.app.inject({ method: 'GET', ...request });

    const rows = await storedRows(t);
    expect(rows.length).toBe(4);
    const stored = JSON.stringify(rows);
    const canaries = [
      token,
      token.slice(4, 24),
      encoded,
      basic,
      tenant,
      'k3y-canary',
      'pw-canary',
      'secret-canary',
      'cookie-canary',
      'dark-canary',
      'Bearer',
      'Basic',
    ];
    for (const canary of canaries) expect(stored, canary).not.toContain(canary);
    expect(rows[0]?.path).toContain('apikey=[redacted]');
    expect(rows[0]?.path).toContain('note=[redacted]');

    const settings = rows.find((row) => row.route === '/manage/settings');
    expect(settings).toMatchObject({ status: 200, model: 'Settings' });
    for (const line of t.logs) expect(line).not.toContain(token);
  });

  it('keeps ordinary query strings as they were sent', () => {
    expect(redactedPath('/companies?limit=10&offset=20&sort=-name&select=name,phase')).toBe(
      '/companies?limit=10&offset=20&sort=-name&select=name,phase',
    );
    expect(redactedPath('/companies/extid-abc?x&y=')).toBe('/companies/extid-abc?x&y=');
    expect(redactedPath('/a?Authorization=x&X-Api-Key=y&sig=z')).toBe(
      '/a?Authorization=[redacted]&X-Api-Key=[redacted]&sig=[redacted]',
    );
    expect(redactedPath('/a?bad=%E0%A4%A')).toBe('/a?bad=%E0%A4%A');
  });
});
