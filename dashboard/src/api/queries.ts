import { useQuery, useQueryClient, type UseQueryResult } from '@tanstack/react-query';
import { useApi, useSession } from './session';
import type {
  Flavor,
  FloatingIp,
  Image,
  Keypair,
  Network,
  NovaLimits,
  Port,
  QuotaDetail,
  Router,
  SecurityGroup,
  Server,
  Subnet,
} from './types';

/** States in which a server is on its way somewhere: poll faster while any is. */
const MOVING = new Set(['BUILD', 'REBOOT', 'HARD_REBOOT', 'REBUILD', 'RESIZE', 'MIGRATING', 'DELETED']);

/** Query keys start with the project, so switching projects never shows another's data. */
export function useKey(...parts: string[]): string[] {
  const { session } = useSession();
  return [session?.project.id ?? '-', ...parts];
}

function useList<T>(key: string, service: 'compute' | 'network' | 'image', path: string, field: string, refetchMs?: number): UseQueryResult<T[]> {
  const api = useApi();
  return useQuery({
    queryKey: useKey(key),
    enabled: api.has(service),
    queryFn: async () => (await api.get<Record<string, T[]>>(service, path))[field] ?? [],
    refetchInterval: refetchMs,
  });
}

export const useServers = (): UseQueryResult<Server[]> => {
  const api = useApi();
  return useQuery({
    queryKey: useKey('servers'),
    enabled: api.has('compute'),
    queryFn: async () => (await api.get<{ servers: Server[] }>('compute', '/servers/detail')).servers,
    refetchInterval: (q) => ((q.state.data ?? []).some((s) => MOVING.has(s.status) || s['OS-EXT-STS:task_state']) ? 1500 : 5000),
  });
};
export const useFlavors = () => useList<Flavor>('flavors', 'compute', '/flavors/detail', 'flavors');
export const useKeypairs = (): UseQueryResult<Keypair[]> => {
  const api = useApi();
  return useQuery({
    queryKey: useKey('keypairs'),
    enabled: api.has('compute'),
    queryFn: async () => (await api.get<{ keypairs: { keypair: Keypair }[] }>('compute', '/os-keypairs')).keypairs.map((k) => k.keypair),
  });
};
export const useImages = () => useList<Image>('images', 'image', '/images', 'images', 10_000);
export const useNetworks = () => useList<Network>('networks', 'network', '/networks', 'networks');
export const useSubnets = () => useList<Subnet>('subnets', 'network', '/subnets', 'subnets');
export const usePorts = () => useList<Port>('ports', 'network', '/ports', 'ports', 5000);
export const useRouters = () => useList<Router>('routers', 'network', '/routers', 'routers');
export const useFloatingIps = () => useList<FloatingIp>('floatingips', 'network', '/floatingips', 'floatingips', 5000);
export const useSecurityGroups = () => useList<SecurityGroup>('security-groups', 'network', '/security-groups', 'security_groups');

export const useNovaLimits = (): UseQueryResult<NovaLimits> => {
  const api = useApi();
  return useQuery({
    queryKey: useKey('limits'),
    enabled: api.has('compute'),
    queryFn: async () => (await api.get<{ limits: NovaLimits }>('compute', '/limits')).limits,
  });
};

export const useNetworkQuota = (): UseQueryResult<Record<string, QuotaDetail>> => {
  const api = useApi();
  const { session } = useSession();
  return useQuery({
    queryKey: useKey('network-quota'),
    enabled: api.has('network'),
    queryFn: async () => (await api.get<{ quota: Record<string, QuotaDetail> }>('network', `/quotas/${session?.project.id ?? ''}/details`)).quota,
  });
};

/** Refreshes the named lists after a change. */
export function useRefresh(): (...keys: string[]) => Promise<void> {
  const qc = useQueryClient();
  const { session } = useSession();
  return async (...keys: string[]) => {
    await Promise.all(keys.map((k) => qc.invalidateQueries({ queryKey: [session?.project.id ?? '-', k] })));
  };
}
