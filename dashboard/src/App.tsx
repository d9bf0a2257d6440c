import { useState } from 'react';
import { useAccess, useSession } from './api/session';
import { errorMessage } from './api/errors';
import { Link, match, navigate, usePath } from './router';
import { Login } from './pages/Login';
import { Overview } from './pages/Overview';
import { Instances } from './pages/Instances';
import { InstanceDetail } from './pages/InstanceDetail';
import { Topology } from './pages/Topology';
import { Networks } from './pages/Networks';
import { FloatingIps } from './pages/FloatingIps';
import { SecurityGroups } from './pages/SecurityGroups';
import { Images } from './pages/Images';
import { KeyPairs } from './pages/KeyPairs';
import { AdminProjects, AdminRoles, AdminUsers } from './pages/AdminIdentity';
import { AdminHypervisors } from './pages/AdminHypervisors';

const NAV: { to: string; label: string; admin?: boolean }[] = [
  { to: '/', label: 'Overview' },
  { to: '/instances', label: 'Instances' },
  { to: '/topology', label: 'Network topology' },
  { to: '/networks', label: 'Networks' },
  { to: '/floating-ips', label: 'Floating IPs' },
  { to: '/security-groups', label: 'Security groups' },
  { to: '/images', label: 'Images' },
  { to: '/key-pairs', label: 'Key pairs' },
  { to: '/admin/projects', label: 'Projects', admin: true },
  { to: '/admin/users', label: 'Users', admin: true },
  { to: '/admin/roles', label: 'Roles', admin: true },
  { to: '/admin/hypervisors', label: 'Hypervisors', admin: true },
];

function Page({ path }: { path: string }) {
  const detail = match('/instances/:id', path);
  if (detail?.['id']) return <InstanceDetail id={detail['id']} />;
  switch (path.replace(/\/$/, '') || '/') {
    case '/':
      return <Overview />;
    case '/instances':
      return <Instances />;
    case '/topology':
      return <Topology />;
    case '/networks':
      return <Networks />;
    case '/floating-ips':
      return <FloatingIps />;
    case '/security-groups':
      return <SecurityGroups />;
    case '/images':
      return <Images />;
    case '/key-pairs':
      return <KeyPairs />;
    case '/admin/projects':
      return <AdminProjects />;
    case '/admin/users':
      return <AdminUsers />;
    case '/admin/roles':
      return <AdminRoles />;
    case '/admin/hypervisors':
      return <AdminHypervisors />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            There is no page at {path}. Go to the <Link to="/">overview</Link>.
          </p>
        </section>
      );
  }
}

function ProjectSwitcher() {
  const { session, switchProject } = useSession();
  const [error, setError] = useState<string | undefined>(undefined);
  if (!session) return null;
  return (
    <div className="switcher">
      <label htmlFor="project-switcher">Project</label>
      <select
        id="project-switcher"
        value={session.project.id}
        onChange={(e) => {
          setError(undefined);
          switchProject(e.target.value).catch((err: unknown) => setError(errorMessage(err)));
        }}
      >
        {session.projects.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
      {error ? (
        <span className="error" role="alert">
          {error}
        </span>
      ) : null}
    </div>
  );
}

/** The shell: the login page without a session, else the top bar, the navigation and the current page. */
export function App() {
  const { session, logout } = useSession();
  const { isAdmin } = useAccess();
  const path = usePath();
  if (!session) return <Login />;
  const role = session.roles.includes('admin') ? 'admin' : session.roles.includes('member') ? 'member' : session.roles.includes('reader') ? 'reader' : 'no role';
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          <span className="logo" aria-hidden="true">
            ◆
          </span>{' '}
          Stacklet
        </Link>
        <ProjectSwitcher />
        <div className="whoami">
          <span>
            {session.user.name} <span className="muted">({role})</span>
          </span>
          <button
            type="button"
            className="btn btn-plain"
            onClick={() => {
              void logout().then(() => navigate('/', true));
            }}
          >
            Log out
          </button>
        </div>
      </header>
      <nav className="sidenav" aria-label="Main">
        <ul>
          {NAV.filter((n) => !n.admin).map((n) => (
            <li key={n.to}>
              <Link to={n.to}>{n.label}</Link>
            </li>
          ))}
        </ul>
        {isAdmin ? (
          <>
            <h2 className="nav-group">Admin</h2>
            <ul>
              {NAV.filter((n) => n.admin).map((n) => (
                <li key={n.to}>
                  <Link to={n.to}>{n.label}</Link>
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        <Page path={path} />
      </main>
    </div>
  );
}
