import type { Principal } from '../auth/principal.js';

/**
 * How a route authenticates. Every route must declare one; the app refuses to start
 * with a route that does not, so nothing is public by accident.
 * - `public`: no credential (health, login, the UI's files);
 * - `session`: a team member's session cookie (login and session routes);
 * - `token`: a private app's API Access Token (the main API);
 * - `session-or-token`: the management API, for members and for apps allowed to manage;
 * - `tenant-token`: the workspace's Tenant Token in the path (analytics ingestion).
 */
export type AuthMode = 'public' | 'session' | 'token' | 'session-or-token' | 'tenant-token';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthMode;
    /** A stable operation name, such as `privateApp.token.create`, used in logs and metrics. */
    operation?: string;
  }

  interface FastifyRequest {
    principal: Principal | undefined;
    /** The error code the request ended with, for the request line and request log. */
    errorCode: string | undefined;
  }
}
