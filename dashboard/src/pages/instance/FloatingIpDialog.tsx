import { useEffect, useState, type FormEvent } from 'react';
import { useApi } from '../../api/session';
import { useFloatingIps, useNetworks, usePorts, useRefresh } from '../../api/queries';
import type { FloatingIp, Server } from '../../api/types';
import { Button, Select } from '../../ui/controls';
import { Dialog } from '../../ui/dialog';
import { useSubmit } from '../../ui/form';

const NEW = 'new:';

/**
 * Gives an instance a floating IP: an unused one of the project, or a new
 * one from an external network. A new address allocated here is released
 * again if associating it fails, so nothing is left half-done.
 */
export function FloatingIpDialog({ server, open, onClose }: { server: Server; open: boolean; onClose: () => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const fips = useFloatingIps();
  const networks = useNetworks();
  const ports = usePorts();
  const [choice, setChoice] = useState('');
  const [port, setPort] = useState('');
  const s = useSubmit({ choice: ['floating', 'external', 'no more ip', 'quota'], port: ['port', 'router', 'fixed ip', 'not reachable'] });

  const free = (fips.data ?? []).filter((f) => !f.port_id);
  const externals = (networks.data ?? []).filter((n) => n['router:external']);
  const myPorts = (ports.data ?? []).filter((p) => p.device_id === server.id);
  const options = [
    ...free.map((f) => ({ value: f.id, label: f.floating_ip_address })),
    ...externals.map((n) => ({ value: `${NEW}${n.id}`, label: `A new address from ${n.name}` })),
  ];

  useEffect(() => {
    if (!choice && options[0]) setChoice(options[0].value);
  }, [choice, options]);
  useEffect(() => {
    if (!port && myPorts[0]) setPort(myPorts[0].id);
  }, [port, myPorts]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!port) return s.fail('This instance has no port to give an address to (does it have a network?).', 'port');
    void s
      .run(async () => {
        let fip: FloatingIp | undefined;
        let allocated = false;
        if (choice.startsWith(NEW)) {
          fip = (await api.post<{ floatingip: FloatingIp }>('network', '/floatingips', { floatingip: { floating_network_id: choice.slice(NEW.length) } })).floatingip;
          allocated = true;
        } else {
          fip = free.find((f) => f.id === choice);
        }
        if (!fip) throw new Error('Pick an address.');
        try {
          await api.put('network', `/floatingips/${fip.id}`, { floatingip: { port_id: port } });
        } catch (err) {
          if (allocated) await api.delete('network', `/floatingips/${fip.id}`).catch(() => undefined);
          throw err;
        }
        await refresh('floatingips', 'servers', 'network-quota');
      })
      .then((ok) => ok && onClose());
  };

  return (
    <Dialog title={`Associate a floating IP with ${server.name}`} open={open} onClose={onClose}>
      <form onSubmit={submit}>
        <Select
          label="Floating IP"
          value={choice}
          onChange={(e) => setChoice(e.target.value)}
          options={options}
          error={s.errorFor('choice')}
          hint={externals.length ? undefined : 'There is no external network to take an address from: an admin creates one.'}
        />
        <Select
          label="Port"
          value={port}
          onChange={(e) => setPort(e.target.value)}
          options={myPorts.map((p) => ({ value: p.id, label: `${p.fixed_ips.map((f) => f.ip_address).join(', ')} (${p.id.slice(0, 8)})` }))}
          error={s.errorFor('port')}
        />
        {s.formError ? (
          <p className="error" role="alert">
            {s.formError}
          </p>
        ) : null}
        <div className="actions">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={s.pending}>
            Associate
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
