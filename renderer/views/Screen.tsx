/** A screen's frame: its root test id, a heading that takes focus when the screen opens (keyboard and screen-reader users land on it). */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

export function Screen({ name, title, intro, children }: { name: string; title: string; intro?: string; children: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus({ preventScroll: true });
  }, [name]);
  return (
    <section class="screen" data-testid={`screen-${name}`} aria-labelledby={`heading-${name}`}>
      <h1 id={`heading-${name}`} ref={heading} tabIndex={-1}>
        {title}
      </h1>
      {intro && <p class="intro">{intro}</p>}
      {children}
    </section>
  );
}
