import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Api, logout as revoke, passwordLogin, scopeTo, type Session } from './client';

interface SessionState {
  session: Session | undefined;
  api: Api | undefined;
  /** Why the last session ended, when it was not the user's choice. */
  notice: string | undefined;
  login(domain: string, user: string, password: string): Promise<void>;
  switchProject(projectId: string): Promise<void>;
  logout(): Promise<void>;
}

const Ctx = createContext<SessionState | undefined>(undefined);

/** Holds the session in memory (React state) only. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const qc = useQueryClient();

  const expire = useCallback(() => {
    qc.clear();
    setSession(undefined);
    setNotice('Your session has ended (the token expired or was revoked). Log in again.');
  }, [qc]);

  const api = useMemo(() => (session ? new Api(session, expire) : undefined), [session, expire]);

  const login = useCallback(
    async (domain: string, user: string, password: string) => {
      const { token, projects } = await passwordLogin(domain, user, password);
      const first = [...projects].sort((a, b) => a.name.localeCompare(b.name))[0];
      if (!first) throw new Error(`User ${user} has no role on any project: ask an admin to add one.`);
      const s = await scopeTo(token, first.id, projects);
      qc.clear();
      setNotice(undefined);
      setSession(s);
    },
    [qc],
  );

  const switchProject = useCallback(
    async (projectId: string) => {
      if (!session) return;
      const s = await scopeTo(session.unscopedToken, projectId, session.projects);
      qc.clear();
      setSession(s);
    },
    [session, qc],
  );

  const logout = useCallback(async () => {
    if (session) await revoke(session);
    qc.clear();
    setNotice(undefined);
    setSession(undefined);
  }, [session, qc]);

  const value = useMemo(() => ({ session, api, notice, login, switchProject, logout }), [session, api, notice, login, switchProject, logout]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): SessionState {
  const s = useContext(Ctx);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** The API of the logged-in user (pages render only inside a session). */
export function useApi(): Api {
  const { api } = useSession();
  if (!api) throw new Error('useApi without a session');
  return api;
}

/** What the user's roles allow, with the reason to show on a disabled control. */
export function useAccess(): { canWrite: boolean; isAdmin: boolean; whyNot: string | undefined } {
  const { session } = useSession();
  const roles = session?.roles ?? [];
  const isAdmin = roles.includes('admin');
  const canWrite = isAdmin || roles.includes('member');
  const whyNot = canWrite
    ? undefined
    : `Your role on project ${session?.project.name ?? ''} is reader: you can look but not change anything. Ask an admin for the member role.`;
  return { canWrite, isAdmin, whyNot };
}
