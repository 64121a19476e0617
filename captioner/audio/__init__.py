"""Audio in: capture from devices, WAV files, resampling to 16 kHz mono s16le, levels."""
