import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { DesktopHost } from './lib/host-electron.js';
import { WebSocketHost } from './lib/host-ws.js';
import type { DesktopBridge } from './lib/host.js';
import { setHost } from './lib/studio.svelte.js';

// The desktop preload puts its bridge on window; a browser page talks to serve mode.
const bridge = (window as unknown as { exitStudio?: DesktopBridge }).exitStudio;
setHost(bridge ? new DesktopHost(bridge) : new WebSocketHost());

// The token has done its work (the server set a cookie): keep it out of the address bar and history.
if (new URLSearchParams(location.search).has('token')) history.replaceState(null, '', location.pathname + location.hash);

mount(App, { target: document.getElementById('app')! });
