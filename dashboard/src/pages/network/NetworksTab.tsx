import { useState, type FormEvent } from 'react';
import { useAccess, useApi } from '../../api/session';
import { useNetworks, useRefresh, useSubnets } from '../../api/queries';
import type { Network } from '../../api/types';
import { errorMessage } from '../../api/errors';
import { Button, Checkbox, TextInput } from '../../ui/controls';
import { Dialog } from '../../ui/dialog';
import { Empty, ErrorText, Loading, Status } from '../../ui/feedback';
import { useSubmit } from '../../ui/form';
import { SubnetFields, SUBNET_FIELD_WORDS, emptySubnet, subnetBody } from './SubnetFields';

/**
 * Creates a network and, if asked, its first subnet. If the subnet is
 * refused the network is deleted again: nothing is left half-made.
 */
function CreateNetworkDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const [name, setName] = useState('');
  const [withSubnet, setWithSubnet] = useState(true);
  const [subnet, setSubnet] = useState(emptySubnet());
  const s = useSubmit({ name: ['name'], ...SUBNET_FIELD_WORDS });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void s
      .run(async () => {
        const net = (await api.post<{ network: Network }>('network', '/networks', { network: { name: name.trim() } })).network;
        if (withSubnet) {
          try {
            await api.post('network', '/subnets', { subnet: subnetBody(net.id, subnet) });
          } catch (err) {
            await api.delete('network', `/networks/${net.id}`).catch(() => undefined);
            throw err;
          }
        }
        await refresh('networks', 'subnets', 'network-quota');
      })
      .then((ok) => {
        if (ok) {
          setName('');
          setSubnet(emptySubnet());
          onClose();
        }
      });
  };

  return (
    <Dialog title="Create a network" open={open} onClose={onClose}>
      <form onSubmit={submit}>
        <TextInput label="Network name" value={name} onChange={(e) => setName(e.target.value)} required error={s.errorFor('name')} autoFocus />
        <Checkbox label="Create a subnet too" checked={withSubnet} onChange={(e) => setWithSubnet(e.target.checked)} />
        {withSubnet ? <SubnetFields draft={subnet} onChange={setSubnet} errors={{ cidr: s.errorFor('cidr'), gateway: s.errorFor('gateway') }} /> : null}
        {s.formError ? (
          <p className="error" role="alert">
            {s.formError}
          </p>
        ) : null}
        <div className="actions">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={s.pending}>
            Create network
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

export function NetworksTab() {
  const api = useApi();
  const refresh = useRefresh();
  const { whyNot, isAdmin } = useAccess();
  const networks = useNetworks();
  const subnets = useSubnets();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const cidrs = (n: Network) => (subnets.data ?? []).filter((s) => s.network_id === n.id).map((s) => `${s.name || s.id.slice(0, 8)} ${s.cidr}`);

  const remove = (n: Network) => {
    if (!window.confirm(`Delete network ${n.name}?`)) return;
    setError(undefined);
    api
      .delete('network', `/networks/${n.id}`)
      .then(() => refresh('networks', 'subnets', 'network-quota'))
      .catch((err: unknown) => setError(`${n.name}: ${errorMessage(err)}`));
  };
  const canChange = (n: Network) => whyNot ?? (n['router:external'] && !isAdmin ? 'Only an admin changes an external network.' : undefined);

  return (
    <>
      <div className="page-head">
        <h2>Networks</h2>
        <Button variant="primary" disabledReason={whyNot} onClick={() => setOpen(true)}>
          Create network
        </Button>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {networks.isPending ? <Loading what="networks" /> : null}
      <ErrorText error={networks.error} />
      {networks.data?.length === 0 ? <Empty title="No networks yet.">Create one with a subnet, then a router to reach the outside.</Empty> : null}
      {networks.data?.length ? (
        <table className="table">
          <caption className="sr-only">Networks</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Subnets</th>
              <th scope="col">Kind</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {networks.data.map((n) => (
              <tr key={n.id} data-network={n.name}>
                <td>{n.name || n.id}</td>
                <td>
                  {cidrs(n).map((c) => (
                    <div key={c}>{c}</div>
                  ))}
                </td>
                <td>{n['router:external'] ? 'external' : n.shared ? 'shared' : 'project'}</td>
                <td>
                  <Status value={n.status} />
                </td>
                <td>
                  <Button variant="danger" disabledReason={canChange(n)} onClick={() => remove(n)} aria-label={`Delete network ${n.name}`}>
                    Delete
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <CreateNetworkDialog open={open} onClose={() => setOpen(false)} />
    </>
  );
}
