import type { ReactNode } from 'react';
import { Modal } from './modal';

export interface ConfirmDialogProps {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm(): void;
  onCancel(): void;
  danger?: boolean;
  busy?: boolean;
  cancelLabel?: string;
}

export function ConfirmDialog(props: ConfirmDialogProps) {
  const { title, children, confirmLabel, onConfirm, onCancel, danger = false } = props;
  return (
    <Modal
      title={title}
      onClose={onCancel}
      size="small"
      name="confirm"
      initialFocus="[data-confirm-cancel]"
      footer={
        <>
          <button type="button" className="button" data-confirm-cancel onClick={onCancel}>
            {props.cancelLabel ?? 'Cancel'}
          </button>
          <button
            type="button"
            className={danger ? 'button button-danger' : 'button button-primary'}
            disabled={props.busy}
            onClick={onConfirm}
          >
            {confirmLabel}
          </button>
        </>
      }
    >
      {children}
    </Modal>
  );
}
