import { useApi, useSession } from '../api/session';
import { useImages, useNetworkQuota, useNetworks, useNovaLimits, useRouters, useServers } from '../api/queries';
import { ErrorText, Loading, QuotaBar } from '../ui/feedback';
import { Link, useTitle } from '../router';

function ComputeQuotas() {
  const limits = useNovaLimits();
  if (limits.isPending) return <Loading what="compute limits" />;
  if (limits.error) return <ErrorText error={limits.error} />;
  const a = limits.data.absolute;
  const n = (k: string) => a[k] ?? 0;
  return (
    <>
      <QuotaBar label="Instances" used={n('totalInstancesUsed')} limit={n('maxTotalInstances')} />
      <QuotaBar label="vCPUs" used={n('totalCoresUsed')} limit={n('maxTotalCores')} />
      <QuotaBar label="RAM" used={n('totalRAMUsed')} limit={n('maxTotalRAMSize')} unit="MB" />
    </>
  );
}

function NetworkQuotas() {
  const q = useNetworkQuota();
  if (q.isPending) return <Loading what="network quotas" />;
  if (q.error) return <ErrorText error={q.error} />;
  const fip = q.data['floatingip'];
  const sg = q.data['security_group'];
  return (
    <>
      {fip ? <QuotaBar label="Floating IPs" used={fip.used} limit={fip.limit} /> : null}
      {sg ? <QuotaBar label="Security groups" used={sg.used} limit={sg.limit} /> : null}
    </>
  );
}

function Missing({ what }: { what: string }) {
  return <p className="muted">This cloud has no {what} service in its catalog yet.</p>;
}

/** Quota usage as bars and what to do next. */
export function Overview() {
  useTitle('Overview');
  const api = useApi();
  const { session } = useSession();
  const servers = useServers();
  const networks = useNetworks();
  const routers = useRouters();
  const images = useImages();
  const count = (q: { data?: unknown[] | undefined; error: unknown }) => (q.data ? q.data.length : q.error ? 'unavailable' : '…');

  return (
    <section>
      <h1>Overview of project {session?.project.name}</h1>
      <div className="cards">
        <section className="card" aria-labelledby="q-compute">
          <h2 id="q-compute">Compute</h2>
          {api.has('compute') ? <ComputeQuotas /> : <Missing what="compute" />}
        </section>
        <section className="card" aria-labelledby="q-network">
          <h2 id="q-network">Network</h2>
          {api.has('network') ? <NetworkQuotas /> : <Missing what="network" />}
        </section>
        <section className="card" aria-labelledby="q-things">
          <h2 id="q-things">In this project</h2>
          <dl className="counts">
            <dt>
              <Link to="/instances">Instances</Link>
            </dt>
            <dd>{api.has('compute') ? count(servers) : '—'}</dd>
            <dt>
              <Link to="/networks">Networks</Link>
            </dt>
            <dd>{api.has('network') ? count(networks) : '—'}</dd>
            <dt>
              <Link to="/networks">Routers</Link>
            </dt>
            <dd>{api.has('network') ? count(routers) : '—'}</dd>
            <dt>
              <Link to="/images">Images</Link>
            </dt>
            <dd>{api.has('image') ? count(images) : '—'}</dd>
          </dl>
        </section>
      </div>
      {servers.data && servers.data.length === 0 ? (
        <p className="next">
          Nothing runs here yet. <Link to="/instances">Launch an instance</Link>: the defaults (the tiny image, m1.nano, the private network, your
          key) give a VM you can reach in seconds.
        </p>
      ) : null}
    </section>
  );
}
