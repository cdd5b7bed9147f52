import { routeParts } from '../router';
import type { SessionValue } from '../session';
import { RolesSection } from './roles-section';
import { TeamSection } from './team-section';
import { TenantTokenSection } from './tenant-token-section';

export interface SettingsSection {
  id: 'team' | 'roles' | 'tenant-token';
  title: string;
}

/** The parts of Settings this member may see. */
export function settingsSections(allowed: SessionValue['allowed']): SettingsSection[] {
  const sections: SettingsSection[] = [];
  if (allowed('User', 'view')) sections.push({ id: 'team', title: 'Team members' });
  if (allowed('Role', 'view')) sections.push({ id: 'roles', title: 'Roles' });
  if (allowed('Settings', 'view')) sections.push({ id: 'tenant-token', title: 'Tenant Token' });
  return sections;
}

export function SettingsPage({ route }: { route: string }) {
  const [, section] = routeParts(route);
  return (
    <>
      <p className="eyebrow">Settings</p>
      <SettingsBody section={section} />
    </>
  );
}

function SettingsBody({ section }: { section: string | undefined }) {
  switch (section) {
    case 'roles':
      return <RolesSection />;
    case 'tenant-token':
      return <TenantTokenSection />;
    default:
      return <TeamSection />;
  }
}
