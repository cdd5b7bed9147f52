import { useState, type FormEvent } from 'react';
import { ApiError, api, describeError } from '../api';
import type { Session } from '../types';

export interface LoginPageProps {
  onLoggedIn(session: Session): void;
  message: string | undefined;
}

export function LoginPage({ onLoggedIn, message }: LoginPageProps) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onLoggedIn(await api.post<Session>('/auth/login', { email: email.trim(), password }));
    } catch (reason) {
      setError(loginError(reason));
      setBusy(false);
    }
  };

  return (
    <main className="login-page">
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Log in to App Center</h1>
        {message === undefined ? null : (
          <p className="notice notice-info" role="status">
            {message}
          </p>
        )}
        <label className="field">
          <span>Email</span>
          <input
            type="email"
            name="email"
            autoComplete="username"
            required
            autoFocus
            value={email}
            onChange={(event) => setEmail(event.target.value)}
          />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
        {error === undefined ? null : (
          <p className="notice notice-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="button button-primary button-wide" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}

function loginError(reason: unknown): string {
  if (reason instanceof ApiError) {
    if (reason.status === 401) return 'The email or password is wrong.';
    if (reason.status === 429) return 'Too many attempts. Wait a minute, then try again.';
  }
  return describeError(reason);
}
