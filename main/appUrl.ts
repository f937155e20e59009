/**
 * The app's origin and the URL that hands the renderer its invitation (app brief, contracts 2
 * and 3). The invitation travels in the fragment, which browsers never send to a server and
 * which the renderer removes from the address bar once read.
 */

/** `http://HOST:PORT` for the listener's address (IPv6 in brackets), exactly as a browser spells the page's origin. */
export function appOrigin(host: string, port: number): string {
  const name = host.includes(':') ? `[${host}]` : host;
  return new URL(`http://${name}:${port}`).origin;
}

/** `origin/#invite=<link>`; the link percent-encoded so its own `#` survives. */
export function appUrl(origin: string, inviteLink: string): string {
  return `${origin}/#invite=${encodeURIComponent(inviteLink)}`;
}
