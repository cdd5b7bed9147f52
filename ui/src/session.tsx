import { createContext, useContext } from 'react';
import { can, type Action, type Model } from './permissions';
import type { Session } from './types';

export interface SessionValue {
  session: Session;
  /** Whether this member holds a permission, as the server will judge it. */
  allowed(model: Model, action: Action): boolean;
  logout(): void;
}

export const SessionContext = createContext<SessionValue | undefined>(undefined);

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (value === undefined) throw new Error('useSession needs a logged-in SessionContext');
  return value;
}

export function sessionValue(session: Session, logout: () => void): SessionValue {
  return {
    session,
    allowed: (model, action) => can(session.permissions, model, action),
    logout,
  };
}
