import { useEffect, useRef, useState } from 'react';
import { useApi } from '../../api/session';
import { errorMessage } from '../../api/errors';
import type { Server } from '../../api/types';
import { Button } from '../../ui/controls';

type Rfb = import('@novnc/novnc').default;

/**
 * The websocket behind a console URL. Nova's noVNC URLs carry the socket's
 * path in a `path` parameter (e.g. "websockify?token=…"); Stacklet's carry a
 * `token` beside the page, with the socket at "websocket" in the same
 * folder. Either way the socket is on the page's host.
 */
export function websocketUrl(consoleUrl: string, pageOrigin: string): string {
  const u = new URL(consoleUrl, pageOrigin);
  const origin = new URL(pageOrigin);
  const scheme = origin.protocol === 'https:' ? 'wss:' : 'ws:';
  const path = u.searchParams.get('path');
  if (path) return `${scheme}//${origin.host}/${path.replace(/^\//, '')}`;
  const dir = u.pathname.replace(/[^/]*$/, '');
  return `${scheme}//${origin.host}${dir}websocket?token=${encodeURIComponent(u.searchParams.get('token') ?? '')}`;
}

/** The instance's screen in the page; noVNC is loaded only when this opens. */
export function VncConsole({ server }: { server: Server }) {
  const api = useApi();
  const screen = useRef<HTMLDivElement>(null);
  const rfb = useRef<Rfb | undefined>(undefined);
  const [state, setState] = useState<'idle' | 'connecting' | 'connected' | 'closed'>('idle');
  const [error, setError] = useState<string | undefined>(undefined);

  useEffect(() => () => rfb.current?.disconnect(), []);

  const open = async () => {
    setError(undefined);
    setState('connecting');
    try {
      const body = { remote_console: { protocol: 'vnc', type: 'novnc' } };
      const { remote_console: rc } = await api.post<{ remote_console: { url: string } }>('compute', `/servers/${server.id}/remote-consoles`, body);
      const { default: RFB } = await import('@novnc/novnc');
      if (!screen.current) return;
      const client = new RFB(screen.current, websocketUrl(rc.url, location.origin));
      client.scaleViewport = true;
      client.addEventListener('connect', () => setState('connected'));
      client.addEventListener('disconnect', () => setState('closed'));
      rfb.current = client;
    } catch (err) {
      setState('idle');
      setError(errorMessage(err));
    }
  };

  return (
    <section aria-labelledby="vnc-title">
      <div className="page-head">
        <h2 id="vnc-title">Console</h2>
        {state === 'connected' ? <Button onClick={() => rfb.current?.sendCtrlAltDel()}>Send Ctrl-Alt-Del</Button> : null}
        {state === 'idle' || state === 'closed' ? (
          <Button variant="primary" onClick={() => void open()} disabledReason={server.status === 'ACTIVE' ? undefined : `The console needs the instance ACTIVE; it is ${server.status}.`}>
            {state === 'closed' ? 'Reconnect' : 'Open console'}
          </Button>
        ) : null}
      </div>
      <p role="status" className="muted">
        {state === 'connecting' ? 'Connecting…' : state === 'connected' ? 'Connected: click the screen to type.' : state === 'closed' ? 'Disconnected.' : ''}
      </p>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      <div ref={screen} className="vnc-screen" aria-label={`Screen of ${server.name}`} role="application" />
    </section>
  );
}
