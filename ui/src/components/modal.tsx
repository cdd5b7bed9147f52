import { useId, useLayoutEffect, useRef, type KeyboardEvent, type ReactNode } from 'react';

export interface ModalProps {
  title: ReactNode;
  /** Asked to close (close button or Escape); the owner decides whether to unmount. */
  onClose(): void;
  children: ReactNode;
  /** Beside the title, such as the Save button of the app dialog. */
  headerActions?: ReactNode;
  footer?: ReactNode;
  size?: 'small' | 'medium' | 'large';
  /** Names the dialog for tests and styles. */
  name?: string;
  /** The control a person is most likely to use first; focused on open. */
  initialFocus?: string;
}

/**
 * A modal on the native `<dialog>`: the browser keeps focus inside, makes the rest of the
 * page inert and returns focus when it closes.
 */
export function Modal(props: ModalProps) {
  const { title, onClose, children, headerActions, footer, size = 'medium', name } = props;
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const initialFocus = props.initialFocus;
  const onCloseRef = useRef(onClose);
  useLayoutEffect(() => {
    onCloseRef.current = onClose;
  });

  useLayoutEffect(() => {
    const dialog = ref.current;
    if (dialog === null) return;
    if (!dialog.open) dialog.showModal();
    const first = initialFocus === undefined ? null : dialog.querySelector(initialFocus);
    if (first instanceof HTMLElement) first.focus();
    // Chrome closes a dialog itself after repeated Escape presses it was asked to ignore;
    // the owner decides when this dialog goes, so it opens again and the owner is asked.
    const reopen = () => {
      // A close this effect's cleanup caused (React re-running effects) finds it open again.
      if (!dialog.isConnected || dialog.open) return;
      dialog.showModal();
      onCloseRef.current();
    };
    dialog.addEventListener('close', reopen);
    return () => {
      dialog.removeEventListener('close', reopen);
      dialog.close();
    };
  }, [initialFocus]);

  const onKeyDown = (event: KeyboardEvent<HTMLDialogElement>) => {
    if (event.key !== 'Escape') return;
    // Handled here rather than left to the cancel event, so that a nested dialog closes
    // alone and the owner can keep its dialog open (to warn about unsaved work).
    event.preventDefault();
    event.stopPropagation();
    onClose();
  };

  return (
    <dialog
      ref={ref}
      className={`modal modal-${size}`}
      aria-labelledby={titleId}
      data-dialog={name}
      onKeyDown={onKeyDown}
      onCancel={(event) => {
        // Escape while focus is outside any control reaches the dialog as a cancel event.
        event.preventDefault();
        onClose();
      }}
    >
      <header className="modal-header">
        <h2 id={titleId} className="modal-title">
          {title}
        </h2>
        <div className="modal-header-actions">
          {headerActions}
          <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
            <span aria-hidden="true">×</span>
          </button>
        </div>
      </header>
      <div className="modal-body">{children}</div>
      {footer === undefined ? null : <footer className="modal-footer">{footer}</footer>}
    </dialog>
  );
}
