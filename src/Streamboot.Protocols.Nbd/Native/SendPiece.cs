using Microsoft.Win32.SafeHandles;

namespace Streamboot.Protocols.Nbd.Native;

/// <summary>
/// One piece of a reply for <see cref="LinuxSocket.TrySend"/>: bytes at an
/// address that stays valid until the reply is sent (a pinned buffer, a
/// mapped file acquired for the send, pinned cache blocks), or a range of an
/// open file.
/// </summary>
internal readonly struct SendPiece
{
    private SendPiece(nint address, SafeFileHandle? file, long fileOffset, int length)
    {
        Address = address;
        File = file;
        FileOffset = fileOffset;
        Length = length;
    }

    public nint Address { get; }

    public SafeFileHandle? File { get; }

    public long FileOffset { get; }

    public int Length { get; }

    public static SendPiece FromAddress(nint address, int length) => new(address, null, 0, length);

    public static SendPiece FromFile(SafeFileHandle file, long offset, int length) => new(0, file, offset, length);
}
