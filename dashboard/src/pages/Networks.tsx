import { useState } from 'react';
import { useApi } from '../api/session';
import { useTitle } from '../router';
import { Tabs } from '../ui/tabs';
import { NetworksTab } from './network/NetworksTab';
import { SubnetsTab } from './network/SubnetsTab';
import { RoutersTab } from './network/RoutersTab';
import { PortsTab } from './network/PortsTab';

type Tab = 'networks' | 'subnets' | 'routers' | 'ports';
const TABS: { id: Tab; label: string }[] = [
  { id: 'networks', label: 'Networks' },
  { id: 'subnets', label: 'Subnets' },
  { id: 'routers', label: 'Routers' },
  { id: 'ports', label: 'Ports' },
];

/** Networks, subnets, routers and ports, one tab each. */
export function Networks() {
  useTitle('Networks');
  const api = useApi();
  const [tab, setTab] = useState<Tab>('networks');
  if (!api.has('network')) {
    return (
      <section>
        <h1>Networks</h1>
        <p>This cloud has no network service in its catalog yet.</p>
      </section>
    );
  }
  return (
    <section>
      <h1>Networks</h1>
      <Tabs label="Network resources" tabs={TABS} current={tab} onChange={setTab}>
        {tab === 'networks' ? <NetworksTab /> : null}
        {tab === 'subnets' ? <SubnetsTab /> : null}
        {tab === 'routers' ? <RoutersTab /> : null}
        {tab === 'ports' ? <PortsTab /> : null}
      </Tabs>
    </section>
  );
}
