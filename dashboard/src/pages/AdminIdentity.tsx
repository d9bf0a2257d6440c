import { useEffect, useState, type FormEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useApi, useSession } from '../api/session';
import { useKey, useRefresh } from '../api/queries';
import type { Project, Role, RoleAssignment, User } from '../api/types';
import { errorMessage } from '../api/errors';
import { Button, Select, TextInput } from '../ui/controls';
import { Dialog } from '../ui/dialog';
import { Empty, ErrorText, Loading } from '../ui/feedback';
import { useSubmit } from '../ui/form';
import { useTitle } from '../router';

function useIdentityList<T>(key: string, path: string, field: string, query?: Record<string, string>) {
  const api = useApi();
  return useQuery({ queryKey: useKey(key), queryFn: async () => (await api.get<Record<string, T[]>>('identity', path, query))[field] ?? [] });
}
const useProjects = () => useIdentityList<Project>('projects', '/projects', 'projects');
const useUsers = () => useIdentityList<User>('users', '/users', 'users');
const useRoles = () => useIdentityList<Role>('roles', '/roles', 'roles');
const useAssignments = () => useIdentityList<RoleAssignment>('role-assignments', '/role_assignments', 'role_assignments', { include_names: 'true' });

function ErrorLine({ error }: { error: string | undefined }) {
  return error ? (
    <p className="error" role="alert">
      {error}
    </p>
  ) : null;
}

function CreateProjectDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const { session } = useSession();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const s = useSubmit({ name: ['name', 'duplicate', 'conflict', 'already'] });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void s
      .run(async () => {
        await api.post('identity', '/projects', { project: { name: name.trim(), description, domain_id: session?.project.domain.id ?? 'default' } });
        await refresh('projects');
      })
      .then((ok) => {
        if (ok) {
          setName('');
          setDescription('');
          onClose();
        }
      });
  };
  return (
    <Dialog title="Create a project" open={open} onClose={onClose}>
      <form onSubmit={submit}>
        <TextInput label="Project name" value={name} onChange={(e) => setName(e.target.value)} required error={s.errorFor('name')} autoFocus />
        <TextInput label="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
        <ErrorLine error={s.formError} />
        <div className="actions">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={s.pending}>
            Create project
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/** Admin: every project, create, enable/disable, delete. */
export function AdminProjects() {
  useTitle('Projects');
  const api = useApi();
  const refresh = useRefresh();
  const projects = useProjects();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const fail = (what: string) => (err: unknown) => setError(`${what}: ${errorMessage(err)}`);
  const toggle = (p: Project) => {
    setError(undefined);
    api.patch('identity', `/projects/${p.id}`, { project: { enabled: !p.enabled } }).then(() => refresh('projects')).catch(fail(p.name));
  };
  const remove = (p: Project) => {
    if (!window.confirm(`Delete project ${p.name}? Its role assignments go with it.`)) return;
    setError(undefined);
    api.delete('identity', `/projects/${p.id}`).then(() => refresh('projects')).catch(fail(p.name));
  };
  return (
    <section>
      <div className="page-head">
        <h1>Projects</h1>
        <Button variant="primary" onClick={() => setOpen(true)}>
          Create project
        </Button>
      </div>
      <ErrorLine error={error} />
      {projects.isPending ? <Loading what="projects" /> : null}
      <ErrorText error={projects.error} />
      {projects.data?.length ? (
        <table className="table">
          <caption className="sr-only">Projects</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Enabled</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {projects.data.map((p) => (
              <tr key={p.id} data-project={p.name}>
                <td>{p.name}</td>
                <td>{p.description}</td>
                <td>{p.enabled ? 'yes' : 'no'}</td>
                <td className="row-actions">
                  <Button onClick={() => toggle(p)} aria-label={`${p.enabled ? 'Disable' : 'Enable'} project ${p.name}`}>
                    {p.enabled ? 'Disable' : 'Enable'}
                  </Button>
                  <Button variant="danger" onClick={() => remove(p)} aria-label={`Delete project ${p.name}`}>
                    Delete
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <CreateProjectDialog open={open} onClose={() => setOpen(false)} />
    </section>
  );
}

/** Creates a user and gives it a role on a project; if the grant fails, the user is removed again. */
function CreateUserDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const { session } = useSession();
  const projects = useProjects();
  const roles = useRoles();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [project, setProject] = useState('');
  const [role, setRole] = useState('');
  const s = useSubmit({ name: ['name', 'duplicate', 'conflict', 'already'], password: ['password'] });
  useEffect(() => {
    if (!role && roles.data?.length) setRole(roles.data.find((r) => r.name === 'member')?.id ?? roles.data[0]?.id ?? '');
  }, [role, roles.data]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void s
      .run(async () => {
        const user: Record<string, unknown> = { name: name.trim(), password, domain_id: session?.user.domain.id ?? 'default', enabled: true };
        if (project) user['default_project_id'] = project;
        const created = (await api.post<{ user: User }>('identity', '/users', { user })).user;
        if (project && role) {
          try {
            await api.put('identity', `/projects/${project}/users/${created.id}/roles/${role}`);
          } catch (err) {
            await api.delete('identity', `/users/${created.id}`).catch(() => undefined);
            throw err;
          }
        }
        await refresh('users', 'role-assignments');
      })
      .then((ok) => {
        if (ok) {
          setName('');
          setPassword('');
          onClose();
        }
      });
  };
  return (
    <Dialog title="Create a user" open={open} onClose={onClose}>
      <form onSubmit={submit}>
        <TextInput label="User name" value={name} onChange={(e) => setName(e.target.value)} required error={s.errorFor('name')} autoFocus />
        <TextInput label="Password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} required error={s.errorFor('password')} />
        <Select label="Project" value={project} onChange={(e) => setProject(e.target.value)} options={[{ value: '', label: 'None' }, ...(projects.data ?? []).map((p) => ({ value: p.id, label: p.name }))]} />
        <Select label="Role on the project" value={role} onChange={(e) => setRole(e.target.value)} options={(roles.data ?? []).map((r) => ({ value: r.id, label: r.name }))} />
        <ErrorLine error={s.formError} />
        <div className="actions">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={s.pending}>
            Create user
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/** Admin: every user, create (with a first role), delete. */
export function AdminUsers() {
  useTitle('Users');
  const api = useApi();
  const refresh = useRefresh();
  const { session } = useSession();
  const users = useUsers();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const remove = (u: User) => {
    if (!window.confirm(`Delete user ${u.name}?`)) return;
    setError(undefined);
    api
      .delete('identity', `/users/${u.id}`)
      .then(() => refresh('users', 'role-assignments'))
      .catch((err: unknown) => setError(`${u.name}: ${errorMessage(err)}`));
  };
  return (
    <section>
      <div className="page-head">
        <h1>Users</h1>
        <Button variant="primary" onClick={() => setOpen(true)}>
          Create user
        </Button>
      </div>
      <ErrorLine error={error} />
      {users.isPending ? <Loading what="users" /> : null}
      <ErrorText error={users.error} />
      {users.data?.length ? (
        <table className="table">
          <caption className="sr-only">Users</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Enabled</th>
              <th scope="col">ID</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {users.data.map((u) => (
              <tr key={u.id} data-user={u.name}>
                <td>{u.name}</td>
                <td>{u.enabled ? 'yes' : 'no'}</td>
                <td>
                  <code>{u.id}</code>
                </td>
                <td>
                  <Button
                    variant="danger"
                    disabledReason={u.id === session?.user.id ? 'You cannot delete yourself.' : undefined}
                    onClick={() => remove(u)}
                    aria-label={`Delete user ${u.name}`}
                  >
                    Delete
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <CreateUserDialog open={open} onClose={() => setOpen(false)} />
    </section>
  );
}

/** Admin: the roles and who holds which on what. */
export function AdminRoles() {
  useTitle('Roles');
  const api = useApi();
  const refresh = useRefresh();
  const roles = useRoles();
  const assignments = useAssignments();
  const [error, setError] = useState<string | undefined>(undefined);
  const revoke = (a: RoleAssignment) => {
    const pid = a.scope.project?.id;
    const uid = a.user?.id;
    if (!pid || !uid) return;
    if (!window.confirm(`Take role ${a.role.name ?? a.role.id} on ${a.scope.project?.name ?? pid} from ${a.user?.name ?? uid}?`)) return;
    setError(undefined);
    api
      .delete('identity', `/projects/${pid}/users/${uid}/roles/${a.role.id}`)
      .then(() => refresh('role-assignments'))
      .catch((err: unknown) => setError(errorMessage(err)));
  };
  return (
    <section>
      <h1>Roles</h1>
      <ErrorLine error={error} />
      {roles.isPending ? <Loading what="roles" /> : null}
      <ErrorText error={roles.error} />
      <p>Roles: {(roles.data ?? []).map((r) => r.name).join(', ')}. admin implies member, and member implies reader.</p>
      <h2>Assignments</h2>
      <ErrorText error={assignments.error} />
      {assignments.data?.length === 0 ? <Empty title="No role assignments." /> : null}
      {assignments.data?.length ? (
        <table className="table">
          <caption className="sr-only">Role assignments</caption>
          <thead>
            <tr>
              <th scope="col">Who</th>
              <th scope="col">Role</th>
              <th scope="col">On</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {assignments.data.map((a) => {
              const who = a.user ? `user ${a.user.name ?? a.user.id}` : `group ${a.group?.name ?? a.group?.id ?? ''}`;
              const on = a.scope.project ? `project ${a.scope.project.name ?? a.scope.project.id}` : `domain ${a.scope.domain?.name ?? a.scope.domain?.id ?? ''}`;
              return (
                <tr key={`${who}-${a.role.id}-${on}`}>
                  <td>{who}</td>
                  <td>{a.role.name ?? a.role.id}</td>
                  <td>{on}</td>
                  <td>
                    {a.user && a.scope.project ? (
                      <Button variant="danger" onClick={() => revoke(a)} aria-label={`Revoke ${a.role.name ?? ''} of ${who} on ${on}`}>
                        Revoke
                      </Button>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
