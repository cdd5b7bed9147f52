import { useEffect, useState } from 'react';

export interface CopyButtonProps {
  text: string;
  label?: string;
  /** What is copied, for screen readers: "Copy token". */
  description?: string;
}

/** Copies `text`; falls back to a selection copy where the Clipboard API is unavailable. */
export function CopyButton({ text, label = 'Copy', description }: CopyButtonProps) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');

  useEffect(() => {
    if (state === 'idle') return;
    const timer = window.setTimeout(() => setState('idle'), 2500);
    return () => window.clearTimeout(timer);
  }, [state]);

  const copy = async () => {
    setState((await copyText(text)) ? 'copied' : 'failed');
  };

  return (
    <>
      <button type="button" className="button" aria-label={description} onClick={copy}>
        {state === 'copied' ? 'Copied' : label}
      </button>
      <span role="status" className="visually-hidden">
        {state === 'copied' ? 'Copied to the clipboard' : ''}
        {state === 'failed' ? 'Copying failed; select the text and copy it yourself' : ''}
      </span>
    </>
  );
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Plain-HTTP pages other than localhost have no Clipboard API.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'visually-hidden';
    document.body.append(area);
    area.select();
    const copied = document.execCommand('copy');
    area.remove();
    return copied;
  }
}
