import { useState, type FormEvent } from 'react';
import { useSession } from '../api/session';
import { Button, TextInput } from '../ui/controls';
import { useSubmit } from '../ui/form';
import { useTitle } from '../router';

/** Domain, user, password. The token stays in memory: a reload asks again. */
export function Login() {
  useTitle('Log in');
  const { login, notice } = useSession();
  const [domain, setDomain] = useState('Default');
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const s = useSubmit({ domain: ['domain'], user: [] });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void s.run(() => login(domain.trim(), user.trim(), password));
  };

  return (
    <main className="login" id="main">
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">
          <span className="logo" aria-hidden="true">
            ◆
          </span>{' '}
          Stacklet
        </h1>
        <p className="muted">Log in to your cloud.</p>
        {notice ? (
          <p className="notice" role="status">
            {notice}
          </p>
        ) : null}
        <TextInput label="Domain" name="domain" value={domain} onChange={(e) => setDomain(e.target.value)} autoComplete="organization" required error={s.errorFor('domain')} />
        <TextInput label="User name" name="username" value={user} onChange={(e) => setUser(e.target.value)} autoComplete="username" required autoFocus />
        <TextInput
          label="Password"
          name="password"
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoComplete="current-password"
          required
        />
        {s.formError ? (
          <p className="error" role="alert">
            {s.formError}
          </p>
        ) : null}
        <Button type="submit" variant="primary" busy={s.pending}>
          Log in
        </Button>
      </form>
    </main>
  );
}
