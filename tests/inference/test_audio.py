"""inference.audio: reading, mixing down and resampling real speech to mono float32 16 kHz."""

import shutil
import subprocess
import wave

import numpy as np
import pytest

from inference.audio import TARGET_RATE, Audio, audio_from_array, load_audio, to_mono_16k
from inference.errors import AudioError


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """Real speech from espeak-ng at its native 22.05 kHz, as (samples float32, rate, wav path)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "Peter bought a big map of Bombay."], check=True,
                   capture_output=True, timeout=60)
    with wave.open(str(path)) as handle:
        rate = handle.getframerate()
        samples = np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32768
    return samples, rate, path


def write_wav(path, samples_int, rate, width):
    with wave.open(str(path), "wb") as handle:
        channels = 1 if samples_int.ndim == 1 else samples_int.shape[1]
        handle.setnchannels(channels)
        handle.setsampwidth(width)
        handle.setframerate(rate)
        if width == 3:
            flat = samples_int.astype("<i4").reshape(-1)
            raw = np.stack([flat & 0xFF, (flat >> 8) & 0xFF, (flat >> 16) & 0xFF], axis=1).astype(np.uint8)
            handle.writeframes(raw.tobytes())
        else:
            handle.writeframes(samples_int.tobytes())


def tone(rate, seconds, freq, amplitude=0.5):
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("rate", [8000, 11025, 12345, 22050, 44100, 48000, 96000])
def test_resampled_tone_keeps_frequency_amplitude_and_length(rate):
    samples = tone(rate, 1.0, 440.0)
    out = to_mono_16k(samples, rate)
    assert out.dtype == np.float32
    assert len(out) == int(np.ceil(len(samples) * TARGET_RATE / rate))
    expected = tone(TARGET_RATE, len(out) / TARGET_RATE, 440.0)[: len(out)]
    interior = slice(800, -800)
    assert np.max(np.abs(out[interior] - expected[interior])) < 1e-3


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_content_above_8k_does_not_alias(rate):
    out = to_mono_16k(tone(rate, 1.0, 12000.0), rate)
    assert np.sqrt(np.mean(out[800:-800] ** 2)) < 1e-3


def test_stereo_and_int_pcm_mix_to_mono(speech):
    samples, rate, _ = speech
    stereo = np.stack([samples, samples], axis=1)
    pcm = np.round(stereo * 32767).astype(np.int16)
    mono = to_mono_16k(samples, rate)
    assert np.allclose(to_mono_16k(stereo, rate), mono, atol=1e-6)
    assert np.allclose(to_mono_16k(pcm, rate), mono, atol=1e-3)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_wav_bit_depths_and_channels_load_alike(tmp_path, speech, width):
    samples, rate, _ = speech
    bits = 8 * width
    scaled = np.round(samples * (2 ** (bits - 1) - 1)).astype(np.int64)
    stereo = np.stack([scaled, scaled], axis=1)
    if width == 1:
        data = (stereo + 128).astype(np.uint8)
    elif width == 2:
        data = stereo.astype("<i2")
    else:
        data = stereo.astype("<i4") << (8 if width == 3 else 0) >> (8 if width == 3 else 0)
    path = tmp_path / f"speech_{bits}.wav"
    write_wav(path, data, rate, width)
    audio = load_audio(path)
    reference = to_mono_16k(samples, rate)
    assert isinstance(audio, Audio) and audio.sample_rate == TARGET_RATE
    assert audio.duration == pytest.approx(len(samples) / rate, abs=1e-3)
    tolerance = 2e-2 if width == 1 else 1e-3
    assert np.max(np.abs(audio.samples - reference)) < tolerance
    assert audio.warnings == ()


def test_wav_streamed_to_a_pipe_reads_its_real_length(tmp_path):
    """espeak-ng --stdout writes a placeholder length (0x7ffff000) in the RIFF and data headers."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    streamed = subprocess.run(["espeak-ng", "--stdout", "Peter bought a big map of Bombay."], check=True,
                              capture_output=True, timeout=60).stdout
    assert streamed[40:44] == b"\x00\xf0\xff\x7f"  # the placeholder this test is about
    path = tmp_path / "streamed.wav"
    path.write_bytes(streamed)
    rate = int.from_bytes(streamed[24:28], "little")
    samples = np.frombuffer(streamed[44:], "<i2").astype(np.float32) / 32768
    audio = load_audio(path)
    assert audio.duration == pytest.approx(len(samples) / rate, abs=1e-4)
    np.testing.assert_allclose(audio.samples, to_mono_16k(samples, rate), atol=1e-6)


def test_flac_through_soundfile(tmp_path, speech):
    soundfile = pytest.importorskip("soundfile")
    samples, rate, _ = speech
    path = tmp_path / "speech.flac"
    soundfile.write(str(path), samples, rate)
    audio = load_audio(path)
    assert np.max(np.abs(audio.samples - to_mono_16k(samples, rate))) < 1e-3


def test_float_wav_through_soundfile(tmp_path, speech):
    soundfile = pytest.importorskip("soundfile")
    samples, rate, _ = speech
    path = tmp_path / "speech_float.wav"
    soundfile.write(str(path), samples, rate, subtype="FLOAT")
    assert np.max(np.abs(load_audio(path).samples - to_mono_16k(samples, rate))) < 1e-5


def test_missing_file_raises_readable_error(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        load_audio(tmp_path / "nope.wav")


@pytest.mark.parametrize("content", [b"", b"RIFF\x00\x00\x00\x00WAVEjunk", b"this is not audio at all" * 10])
def test_corrupt_or_empty_file_raises_audio_error(tmp_path, content):
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError) as info:
        load_audio(path)
    assert "broken.wav" in str(info.value)


def test_zero_length_audio_raises(tmp_path):
    path = tmp_path / "empty.wav"
    write_wav(path, np.zeros(0, dtype="<i2"), 16000, 2)
    with pytest.raises(AudioError, match="no samples"):
        load_audio(path)
    with pytest.raises(AudioError):
        audio_from_array(np.zeros(0, np.float32), 44100)


def test_nan_samples_become_zero_with_warning(speech):
    samples, rate, _ = speech
    damaged = samples.copy()
    damaged[1000:1010] = np.nan
    damaged[2000] = np.inf
    audio = audio_from_array(damaged, rate)
    assert np.all(np.isfinite(audio.samples))
    assert any("NaN" in w for w in audio.warnings)


def test_silent_audio_warns_not_raises():
    audio = audio_from_array(np.full(48000, 1e-5, np.float32), 48000, source="quiet.wav")
    assert audio.duration == pytest.approx(1.0)
    assert any("silent" in w for w in audio.warnings)


def test_clipped_audio_warns(speech):
    samples, rate, _ = speech
    loud = np.clip(samples * 50, -1, 1)
    audio = audio_from_array(loud, rate)
    assert any("clipped" in w for w in audio.warnings)


def test_long_audio_keeps_its_exact_length():
    rate, seconds = 48000, 600
    samples = (np.random.default_rng(0).standard_normal(rate * seconds) * 0.1).astype(np.float32)
    out = to_mono_16k(samples, rate)
    assert len(out) == seconds * TARGET_RATE and out.dtype == np.float32
