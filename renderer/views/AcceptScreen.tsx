/**
 * Accept another device's invitation: paste its link, open a picture of its QR code, or scan
 * the code with the camera. A code read from a picture or the camera is redeemed at once
 * (reading it is the person's choice); a link that arrived from the OS only fills the field.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AppController, AppState } from '../AppController.js';
import { KithError, toKithError } from '../../shared/errors.js';
import { decodeQrFile, startQrScan, type QrScan } from '../qrCapture.js';
import { formatSas } from './format.js';
import { Screen } from './Screen.js';

export function AcceptScreen({ state, controller }: { state: AppState; controller: AppController }) {
  const accept = state.accept;
  const video = useRef<HTMLVideoElement>(null);
  const scan = useRef<QrScan | undefined>(undefined);
  const [scanning, setScanning] = useState(false);
  const [note, setNote] = useState('');

  const stopScan = () => {
    scan.current?.stop();
    scan.current = undefined;
    setScanning(false);
  };
  // Leaving the screen turns the camera off.
  useEffect(() => () => scan.current?.stop(), []);

  const redeem = (text: string) => {
    controller.setAcceptDraft(text);
    void controller.acceptLink(text);
  };

  const onFile = async (input: HTMLInputElement) => {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    setNote('Reading the picture…');
    try {
      const text = await decodeQrFile(file);
      if (text === undefined) throw new KithError('INVITE_MALFORMED', 'no QR code found in the picture');
      setNote('');
      redeem(text);
    } catch (err) {
      setNote(toKithError(err).code === 'INVITE_MALFORMED' ? 'No QR code was found in that picture. Try a sharper picture, or paste the link.' : 'That file could not be read as a picture.');
    }
  };

  const onScan = async () => {
    if (scanning || !video.current) return;
    setScanning(true);
    setNote('Point the camera at the QR code.');
    try {
      scan.current = await startQrScan(
        video.current,
        (text) => {
          scan.current = undefined;
          setScanning(false);
          setNote('');
          redeem(text);
        },
        () => {
          scan.current = undefined;
          setScanning(false);
          setNote('The camera stopped. Try again, or paste the link.');
        },
      );
    } catch {
      setScanning(false);
      setNote('The camera could not be used (no camera, or permission was denied). Open a picture of the code, or paste the link.');
    }
  };

  return (
    <Screen name="accept" title="Accept an invitation" intro="Pair the Kith app on this computer with another device that showed you an invitation.">
      {accept.result && (
        <p class="success" role="status" data-testid="accept-result">
          Paired with <strong>{accept.result.name}</strong>.
          {accept.result.sas && <> Security code {formatSas(accept.result.sas)}; it should match the code on the other device.</>}
        </p>
      )}
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void controller.acceptLink();
        }}
      >
        <label for="accept-link">Invitation link</label>
        <input
          id="accept-link"
          data-testid="accept-link-input"
          type="text"
          placeholder="kith://pair/v1#…"
          autoComplete="off"
          spellcheck={false}
          value={accept.draft}
          disabled={accept.busy}
          onInput={(e) => controller.setAcceptDraft((e.target as HTMLInputElement).value)}
        />
        <button type="submit" class="primary" data-testid="accept-submit" disabled={accept.busy || !state.companion || accept.draft.trim() === ''}>
          {accept.busy ? 'Pairing…' : 'Pair'}
        </button>
      </form>
      <div class="actions">
        <label class="file-button">
          Open a picture of the QR code
          <input
            type="file"
            accept="image/*"
            data-testid="accept-file-input"
            disabled={accept.busy}
            onChange={(e) => void onFile(e.target as HTMLInputElement)}
          />
        </label>
        {scanning ? (
          <button type="button" onClick={stopScan}>
            Stop camera
          </button>
        ) : (
          <button type="button" data-testid="accept-scan" disabled={accept.busy} onClick={() => void onScan()}>
            Scan with the camera
          </button>
        )}
      </div>
      {note && (
        <p class="muted" role="status">
          {note}
        </p>
      )}
      <video class={`camera${scanning ? '' : ' hidden'}`} data-testid="accept-video" ref={video} muted playsInline aria-label="Camera preview" />
    </Screen>
  );
}
