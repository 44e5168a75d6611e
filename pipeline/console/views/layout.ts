import { html } from 'hono/html';
import type { Html } from './format.ts';

export interface PageFrame {
  readonly title: string;
  /** Who is signed in (token login: "token"; ALB: the user's e-mail), or null on the login page. */
  readonly identity: string | null;
  /** Token sessions can sign out; an ALB session is the load balancer's. */
  readonly canSignOut: boolean;
  readonly assets: AssetPaths;
  readonly breadcrumbs?: readonly { readonly label: string; readonly href: string }[];
}

/** Versioned URLs of the static files (a new build changes the query string, so browsers may cache them for long). */
export interface AssetPaths {
  readonly consoleCss: string;
  readonly consoleJs: string;
  readonly uplotCss: string;
  readonly uplotJs: string;
}

/** Every page: no inline script or style anywhere (the Content-Security-Policy forbids them), charts load from /assets. */
export function layout(frame: PageFrame, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${frame.title} · driftwatch</title>
<link rel="stylesheet" href="${frame.assets.uplotCss}">
<link rel="stylesheet" href="${frame.assets.consoleCss}">
<script src="${frame.assets.uplotJs}" defer></script>
<script src="${frame.assets.consoleJs}" defer></script>
</head>
<body>
<header class="top">
  <a class="brand" href="/">driftwatch</a>
  <nav aria-label="breadcrumbs">${(frame.breadcrumbs ?? []).map((b) => html`<span class="sep">/</span><a href="${b.href}">${b.label}</a>`)}</nav>
  ${frame.identity === null
    ? ''
    : html`<div class="who"><span title="signed in">${frame.identity}</span>${frame.canSignOut
        ? html`<form method="post" action="/logout"><button type="submit" class="link">Sign out</button></form>`
        : ''}</div>`}
</header>
<main>
${body}
</main>
</body>
</html>`;
}

export function loginPage(assets: AssetPaths, next: string, refused: string | null): Html {
  return layout(
    { title: 'Sign in', identity: null, canSignOut: false, assets },
    html`<section class="login">
  <h1>Sign in to the compliance console</h1>
  ${refused ? html`<p class="error" role="alert">${refused}</p>` : ''}
  <form method="post" action="/login">
    <input type="hidden" name="next" value="${next}">
    <label for="token">Console token</label>
    <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
    <button type="submit">Sign in</button>
  </form>
  <p class="muted">The token is the value of <code>DRIFTWATCH_CONSOLE_TOKEN</code> where the console runs.</p>
</section>`,
  );
}

export function messagePage(assets: AssetPaths, identity: string | null, title: string, message: string): Html {
  return layout({ title, identity, canSignOut: false, assets }, html`<section><h1>${title}</h1><p>${message}</p><p><a href="/">Organisation board</a></p></section>`);
}
