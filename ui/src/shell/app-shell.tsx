import type { ReactNode } from 'react';
import { memberName } from '../format';
import { AppCenterPage } from '../private-apps/app-center-page';
import { routeParts, useRoute } from '../router';
import { useSession } from '../session';
import { SettingsPage, settingsSections } from '../settings/settings-page';

/** The frame around every screen: the workspace, the member, and the global tools. */
export function AppShell() {
  const { session, allowed, logout } = useSession();
  const route = useRoute();
  const [tool = 'app-center', section] = routeParts(route);
  const canSeeApps = allowed('ServiceAccount', 'view');
  const sections = settingsSections(allowed);

  let page: ReactNode;
  if (tool === 'settings' && sections.length > 0) {
    page = <SettingsPage route={route} />;
  } else {
    page = <AppCenterPage route={route} />;
  }

  return (
    <div className="shell">
      <a className="skip-link" href="#main" onClick={skipToMain}>
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">
          <span className="brand-mark" aria-hidden="true" />
          {session.workspace.name}
        </span>
        <span className="topbar-member">
          <span className="member-name" title={session.member.email}>
            {memberName(session.member)}
          </span>
          <button type="button" className="button button-small" onClick={logout}>
            Log out
          </button>
        </span>
      </header>
      <nav className="sidebar" aria-label="Global tools">
        <ul>
          <li>
            <NavLink href="#/app-center" current={tool === 'app-center' && section === undefined}>
              App Center
            </NavLink>
            {canSeeApps ? (
              <ul>
                <li>
                  <NavLink
                    href="#/app-center/private-apps"
                    current={tool === 'app-center' && section !== undefined}
                  >
                    Private apps
                  </NavLink>
                </li>
              </ul>
            ) : null}
          </li>
          {sections.length === 0 ? null : (
            <li>
              <NavLink href="#/settings" current={tool === 'settings' && section === undefined}>
                Settings
              </NavLink>
              <ul>
                {sections.map((item) => (
                  <li key={item.id}>
                    <NavLink
                      href={`#/settings/${item.id}`}
                      current={tool === 'settings' && section === item.id}
                    >
                      {item.title}
                    </NavLink>
                  </li>
                ))}
              </ul>
            </li>
          )}
        </ul>
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}

function NavLink({
  href,
  current,
  children,
}: {
  href: string;
  current: boolean;
  children: ReactNode;
}) {
  return (
    <a href={href} className="nav-link" aria-current={current ? 'page' : undefined}>
      {children}
    </a>
  );
}

/** The skip link would otherwise change the hash route; it only moves focus. */
function skipToMain(event: { preventDefault(): void }) {
  event.preventDefault();
  document.getElementById('main')?.focus();
}
