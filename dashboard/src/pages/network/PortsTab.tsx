import { useNetworks, usePorts, useServers } from '../../api/queries';
import { Empty, ErrorText, Loading, Status } from '../../ui/feedback';

/** Every port of the project: what owns it and its addresses. */
export function PortsTab() {
  const ports = usePorts();
  const networks = useNetworks();
  const servers = useServers();
  const netName = (id: string) => networks.data?.find((n) => n.id === id)?.name ?? id;
  const owner = (deviceId: string, deviceOwner: string) => {
    const s = servers.data?.find((x) => x.id === deviceId);
    if (s) return `instance ${s.name}`;
    return deviceOwner || 'nobody';
  };
  return (
    <>
      <h2>Ports</h2>
      {ports.isPending ? <Loading what="ports" /> : null}
      <ErrorText error={ports.error} />
      {ports.data?.length === 0 ? <Empty title="No ports yet.">Ports appear when instances, routers and DHCP attach to networks.</Empty> : null}
      {ports.data?.length ? (
        <table className="table">
          <caption className="sr-only">Ports</caption>
          <thead>
            <tr>
              <th scope="col">Name / ID</th>
              <th scope="col">Network</th>
              <th scope="col">Addresses</th>
              <th scope="col">MAC</th>
              <th scope="col">Attached to</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {ports.data.map((p) => (
              <tr key={p.id}>
                <td>{p.name || <code>{p.id.slice(0, 8)}</code>}</td>
                <td>{netName(p.network_id)}</td>
                <td>{p.fixed_ips.map((f) => f.ip_address).join(', ')}</td>
                <td>
                  <code>{p.mac_address}</code>
                </td>
                <td>{owner(p.device_id, p.device_owner)}</td>
                <td>
                  <Status value={p.status} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
