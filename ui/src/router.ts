import { useEffect, useState } from 'react';

/**
 * Hash routing: the server serves one page at `/`, and the part after `#` names the screen,
 * such as `#/app-center/private-apps/<id>`.
 */

/** Asked before the route changes; calls `proceed` if leaving is fine (or once confirmed). */
export type NavigationGuard = (proceed: () => void) => void;

let guard: NavigationGuard | undefined;

export function setNavigationGuard(next: NavigationGuard | undefined): void {
  guard = next;
}

export function currentRoute(): string {
  const hash = window.location.hash.replace(/^#/, '');
  return hash === '' ? '/' : hash;
}

export function navigate(path: string): void {
  window.location.hash = path;
}

/** The current route; a registered guard may hold a change until the person confirms it. */
export function useRoute(): string {
  const [route, setRoute] = useState(currentRoute);

  useEffect(() => {
    let shown = currentRoute();
    const onHashChange = () => {
      const target = currentRoute();
      if (target === shown) return;
      const accept = () => {
        window.history.replaceState(null, '', `#${target}`);
        shown = target;
        setRoute(target);
      };
      if (guard === undefined) {
        accept();
        return;
      }
      // Put the address back while the guard asks; replaceState fires no hashchange.
      window.history.replaceState(null, '', `#${shown}`);
      guard(accept);
    };
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }, []);

  return route;
}

/** Splits `/a/b/c` into `['a', 'b', 'c']`. */
export function routeParts(route: string): string[] {
  return (
    route
      .split('?')[0]
      ?.split('/')
      .filter((part) => part !== '') ?? []
  );
}
