import { useQuery } from '@tanstack/react-query';
import { useApi } from '../api/session';
import { useKey } from '../api/queries';
import type { Hypervisor } from '../api/types';
import { Empty, ErrorText, Loading, QuotaBar } from '../ui/feedback';
import { useTitle } from '../router';

/** Admin: what each compute host has and how much of it instances use. */
export function AdminHypervisors() {
  useTitle('Hypervisors');
  const api = useApi();
  const hv = useQuery({
    queryKey: useKey('hypervisors'),
    enabled: api.has('compute'),
    queryFn: async () => (await api.get<{ hypervisors: Hypervisor[] }>('compute', '/os-hypervisors/detail')).hypervisors,
    refetchInterval: 10_000,
  });
  if (!api.has('compute')) {
    return (
      <section>
        <h1>Hypervisors</h1>
        <p>This cloud has no compute service in its catalog yet.</p>
      </section>
    );
  }
  return (
    <section>
      <h1>Hypervisors</h1>
      {hv.isPending ? <Loading what="hypervisors" /> : null}
      <ErrorText error={hv.error} />
      {hv.data?.length === 0 ? <Empty title="No compute hosts." /> : null}
      <div className="cards">
        {(hv.data ?? []).map((h) => (
          <section key={String(h.id)} className="card" aria-labelledby={`hv-${String(h.id)}`}>
            <h2 id={`hv-${String(h.id)}`}>{h.hypervisor_hostname}</h2>
            <p className="muted">
              {h.hypervisor_type ?? 'QEMU'} · {h.state ?? 'up'} · {h.status ?? 'enabled'} · {h.running_vms ?? 0} running
            </p>
            {h.vcpus !== undefined ? <QuotaBar label="vCPUs" used={h.vcpus_used ?? 0} limit={h.vcpus} /> : null}
            {h.memory_mb !== undefined ? <QuotaBar label="RAM" used={h.memory_mb_used ?? 0} limit={h.memory_mb} unit="MB" /> : null}
            {h.local_gb !== undefined ? <QuotaBar label="Disk" used={h.local_gb_used ?? 0} limit={h.local_gb} unit="GB" /> : null}
          </section>
        ))}
      </div>
    </section>
  );
}
