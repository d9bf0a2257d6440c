import { useEffect, useState, type FormEvent } from 'react';
import { useAccess, useApi } from '../../api/session';
import { useNetworks, useRefresh, useSubnets } from '../../api/queries';
import type { Subnet } from '../../api/types';
import { errorMessage } from '../../api/errors';
import { Button, Select } from '../../ui/controls';
import { Dialog } from '../../ui/dialog';
import { Empty, ErrorText, Loading } from '../../ui/feedback';
import { useSubmit } from '../../ui/form';
import { SubnetFields, SUBNET_FIELD_WORDS, emptySubnet, subnetBody } from './SubnetFields';

function CreateSubnetDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const networks = useNetworks();
  const { isAdmin } = useAccess();
  const usable = (networks.data ?? []).filter((n) => isAdmin || !n['router:external']);
  const [network, setNetwork] = useState('');
  const [draft, setDraft] = useState(emptySubnet());
  const s = useSubmit({ network: ['network'], ...SUBNET_FIELD_WORDS });
  useEffect(() => {
    if (!network && usable[0]) setNetwork(usable[0].id);
  }, [network, usable]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void s
      .run(async () => {
        await api.post('network', '/subnets', { subnet: subnetBody(network, draft) });
        await refresh('subnets', 'networks');
      })
      .then((ok) => {
        if (ok) {
          setDraft(emptySubnet());
          onClose();
        }
      });
  };
  return (
    <Dialog title="Create a subnet" open={open} onClose={onClose}>
      <form onSubmit={submit}>
        <Select label="Network" value={network} onChange={(e) => setNetwork(e.target.value)} options={usable.map((n) => ({ value: n.id, label: n.name || n.id }))} error={s.errorFor('network')} />
        <SubnetFields draft={draft} onChange={setDraft} errors={{ cidr: s.errorFor('cidr'), gateway: s.errorFor('gateway') }} />
        {s.formError ? (
          <p className="error" role="alert">
            {s.formError}
          </p>
        ) : null}
        <div className="actions">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={s.pending}>
            Create subnet
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

export function SubnetsTab() {
  const api = useApi();
  const refresh = useRefresh();
  const { whyNot } = useAccess();
  const subnets = useSubnets();
  const networks = useNetworks();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const netName = (id: string) => networks.data?.find((n) => n.id === id)?.name ?? id;
  const remove = (s: Subnet) => {
    if (!window.confirm(`Delete subnet ${s.name || s.cidr}?`)) return;
    setError(undefined);
    api
      .delete('network', `/subnets/${s.id}`)
      .then(() => refresh('subnets', 'networks'))
      .catch((err: unknown) => setError(`${s.name || s.cidr}: ${errorMessage(err)}`));
  };
  return (
    <>
      <div className="page-head">
        <h2>Subnets</h2>
        <Button variant="primary" disabledReason={whyNot} onClick={() => setOpen(true)}>
          Create subnet
        </Button>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {subnets.isPending ? <Loading what="subnets" /> : null}
      <ErrorText error={subnets.error} />
      {subnets.data?.length === 0 ? <Empty title="No subnets yet.">A network needs a subnet before instances get addresses on it.</Empty> : null}
      {subnets.data?.length ? (
        <table className="table">
          <caption className="sr-only">Subnets</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Network</th>
              <th scope="col">Range</th>
              <th scope="col">Gateway</th>
              <th scope="col">DHCP</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {subnets.data.map((s) => (
              <tr key={s.id} data-subnet={s.name}>
                <td>{s.name || s.id}</td>
                <td>{netName(s.network_id)}</td>
                <td>{s.cidr}</td>
                <td>{s.gateway_ip ?? 'none'}</td>
                <td>{s.enable_dhcp ? 'yes' : 'no'}</td>
                <td>
                  <Button variant="danger" disabledReason={whyNot} onClick={() => remove(s)} aria-label={`Delete subnet ${s.name || s.cidr}`}>
                    Delete
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <CreateSubnetDialog open={open} onClose={() => setOpen(false)} />
    </>
  );
}
