import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, api, onSessionLost, setCsrfToken } from './api';
import { Loading } from './components/notice';
import { LoginPage } from './shell/login-page';
import { AppShell } from './shell/app-shell';
import { SessionContext, sessionValue } from './session';
import type { Session } from './types';

type State =
  | { kind: 'loading' }
  | { kind: 'anonymous'; message?: string }
  | { kind: 'member'; session: Session };

/** Asks who is logged in, then shows either the login page or the app. */
export function App() {
  const [state, setState] = useState<State>({ kind: 'loading' });

  const enter = useCallback((session: Session) => {
    setCsrfToken(session.csrfToken);
    setState({ kind: 'member', session });
  }, []);

  const leave = useCallback((message?: string) => {
    setCsrfToken(undefined);
    setState(message === undefined ? { kind: 'anonymous' } : { kind: 'anonymous', message });
  }, []);

  useEffect(() => {
    onSessionLost(() => leave('Your session has ended. Log in again to continue.'));
    api
      .get<Session>('/auth/me')
      .then(enter)
      .catch((error: unknown) => {
        const unreachable = error instanceof ApiError && error.status === 0;
        leave(unreachable ? 'App Center could not be reached. Try again shortly.' : undefined);
      });
    return () => onSessionLost(undefined);
  }, [enter, leave]);

  const logout = useCallback(() => {
    api
      .post('/auth/logout')
      .catch(() => undefined)
      .finally(() => {
        window.history.replaceState(null, '', '#/');
        leave('You have logged out.');
      });
  }, [leave]);

  const value = useMemo(
    () => (state.kind === 'member' ? sessionValue(state.session, logout) : undefined),
    [state, logout],
  );

  if (state.kind === 'loading') {
    return (
      <main className="centered">
        <Loading what="App Center" />
      </main>
    );
  }
  if (state.kind === 'anonymous' || value === undefined) {
    return (
      <LoginPage
        onLoggedIn={enter}
        message={state.kind === 'anonymous' ? state.message : undefined}
      />
    );
  }
  return (
    <SessionContext.Provider value={value}>
      <AppShell />
    </SessionContext.Provider>
  );
}
