using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Streamboot.Storage.BootFiles;

/// <summary>
/// The PE/COFF headers of an EFI program (a Linux kernel with its EFI stub,
/// shim, GRUB), as far as Authenticode needs them: where the checksum and
/// the certificate table's directory entry are (both left out of the
/// image's hash), the sections in file order, and the certificate table
/// (WIN_CERTIFICATE entries holding PKCS#7 signatures). Names and offsets
/// follow Microsoft's "PE Format" and "Windows Authenticode Portable
/// Executable Signature Format".
/// </summary>
public sealed class PeImage
{
    /// <summary>The largest file looked at: a kernel is tens of MiB.</summary>
    public const long MaxLength = 512L * 1024 * 1024;

    private const ushort Pe32Magic = 0x10b;
    private const ushort Pe32PlusMagic = 0x20b;
    private const int CertificateTableIndex = 4;
    private const ushort WinCertRevision2 = 0x0200;
    private const ushort WinCertTypePkcsSignedData = 0x0002;

    private PeImage(long length, int checkSumOffset, int certificateEntryOffset, uint sizeOfHeaders, uint certificateOffset, uint certificateSize, IReadOnlyList<PeSection> sections)
    {
        Length = length;
        CheckSumOffset = checkSumOffset;
        CertificateEntryOffset = certificateEntryOffset;
        SizeOfHeaders = sizeOfHeaders;
        CertificateOffset = certificateOffset;
        CertificateSize = certificateSize;
        Sections = sections;
    }

    public long Length { get; }

    /// <summary>File offset of the optional header's CheckSum (4 bytes).</summary>
    public int CheckSumOffset { get; }

    /// <summary>File offset of the Certificate Table data directory entry (8 bytes).</summary>
    public int CertificateEntryOffset { get; }

    public uint SizeOfHeaders { get; }

    /// <summary>File offset of the certificate table (a file offset, unlike other directories); 0 when unsigned.</summary>
    public uint CertificateOffset { get; }

    public uint CertificateSize { get; }

    public IReadOnlyList<PeSection> Sections { get; }

    public bool HasCertificateTable => CertificateOffset != 0 && CertificateSize != 0;

    /// <summary>Reads the headers, or says why the file is not a PE image this code can hash.</summary>
    public static bool TryRead(SafeFileHandle file, out PeImage? image, out string error)
    {
        image = null;
        var length = RandomAccess.GetLength(file);
        if (length > MaxLength)
        {
            error = $"{length} bytes is more than an EFI program may have here ({MaxLength})";
            return false;
        }

        var dos = new byte[64];
        if (RandomAccess.Read(file, dos, 0) < dos.Length || dos[0] != (byte)'M' || dos[1] != (byte)'Z')
        {
            error = "not a PE image (no MZ header): a kernel without its EFI stub cannot be checked or loaded by GRUB under Secure Boot";
            return false;
        }

        var peOffset = BinaryPrimitives.ReadUInt32LittleEndian(dos.AsSpan(0x3c));
        if (peOffset > length - 24 || peOffset > 64 * 1024)
        {
            error = "the MZ header points past the file for its PE header";
            return false;
        }

        var coff = new byte[24];
        if (RandomAccess.Read(file, coff, peOffset) < coff.Length || !coff.AsSpan(0, 4).SequenceEqual("PE\0\0"u8))
        {
            error = "no PE signature where the MZ header points";
            return false;
        }

        var sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(coff.AsSpan(6));
        var symbolTable = BinaryPrimitives.ReadUInt32LittleEndian(coff.AsSpan(12));
        var symbolCount = BinaryPrimitives.ReadUInt32LittleEndian(coff.AsSpan(16));
        var optionalSize = BinaryPrimitives.ReadUInt16LittleEndian(coff.AsSpan(20));
        var optionalOffset = (int)peOffset + 24;
        var optional = new byte[optionalSize];
        if (optionalSize < 96 || RandomAccess.Read(file, optional, optionalOffset) < optionalSize)
        {
            error = "the optional header is missing or cut short";
            return false;
        }

        var magic = BinaryPrimitives.ReadUInt16LittleEndian(optional);
        var directories = magic switch
        {
            Pe32Magic => 96,
            Pe32PlusMagic => 112,
            _ => -1,
        };
        if (directories < 0)
        {
            error = $"optional header magic 0x{magic:x} is neither PE32 nor PE32+";
            return false;
        }

        var directoryCount = BinaryPrimitives.ReadUInt32LittleEndian(optional.AsSpan(directories - 4));
        var entry = directories + (CertificateTableIndex * 8);
        uint certificateOffset = 0;
        uint certificateSize = 0;
        if (directoryCount > CertificateTableIndex && entry + 8 <= optionalSize)
        {
            certificateOffset = BinaryPrimitives.ReadUInt32LittleEndian(optional.AsSpan(entry));
            certificateSize = BinaryPrimitives.ReadUInt32LittleEndian(optional.AsSpan(entry + 4));
        }

        var sizeOfHeaders = BinaryPrimitives.ReadUInt32LittleEndian(optional.AsSpan(60));
        var sectionTable = optionalOffset + optionalSize;
        var table = new byte[sectionCount * 40];
        if (RandomAccess.Read(file, table, sectionTable) < table.Length)
        {
            error = "the section table is cut short";
            return false;
        }

        if (sizeOfHeaders < sectionTable + table.Length || sizeOfHeaders > length)
        {
            error = $"SizeOfHeaders {sizeOfHeaders} does not cover the headers or passes the end of the file";
            return false;
        }

        var strings = StringTable(file, length, symbolTable, symbolCount);
        var sections = new List<PeSection>(sectionCount);
        for (var i = 0; i < sectionCount; i++)
        {
            var header = table.AsSpan(i * 40, 40);
            var rawSize = BinaryPrimitives.ReadUInt32LittleEndian(header[16..]);
            var rawPointer = BinaryPrimitives.ReadUInt32LittleEndian(header[20..]);
            if ((long)rawPointer + rawSize > length)
            {
                error = $"section {i} runs past the end of the file";
                return false;
            }

            sections.Add(new PeSection(SectionName(header[..8], strings), rawPointer, rawSize));
        }

        if (certificateOffset != 0 && ((long)certificateOffset + certificateSize > length || certificateOffset < sizeOfHeaders))
        {
            error = "the certificate table lies outside the file";
            return false;
        }

        image = new PeImage(length, optionalOffset + 64, optionalOffset + entry, sizeOfHeaders, certificateOffset, certificateSize, sections);
        error = "";
        return true;
    }

    /// <summary>
    /// The Authenticode hash: the headers without the checksum and the
    /// certificate table's entry, the sections in file order, then whatever
    /// follows them up to the certificate table.
    /// </summary>
    public byte[] AuthenticodeHash(SafeFileHandle file, HashAlgorithmName algorithm)
    {
        using var hash = IncrementalHash.CreateHash(algorithm);
        var buffer = new byte[1024 * 1024];
        Add(0, CheckSumOffset);
        Add(CheckSumOffset + 4, CertificateEntryOffset);
        Add(CertificateEntryOffset + 8, SizeOfHeaders);
        long end = SizeOfHeaders;
        foreach (var section in Sections.Where(s => s.RawSize > 0).OrderBy(s => s.RawPointer))
        {
            Add(section.RawPointer, (long)section.RawPointer + section.RawSize);
            end = Math.Max(end, (long)section.RawPointer + section.RawSize);
        }

        var tail = HasCertificateTable && CertificateOffset >= end ? CertificateOffset : Length;
        Add(end, tail);
        return hash.GetHashAndReset();

        void Add(long from, long to)
        {
            while (from < to)
            {
                var read = RandomAccess.Read(file, buffer.AsSpan(0, (int)Math.Min(buffer.Length, to - from)), from);
                if (read <= 0)
                {
                    throw new IOException("the file ended while it was hashed (changed meanwhile?)");
                }

                hash.AppendData(buffer, 0, read);
                from += read;
            }
        }
    }

    /// <summary>The PKCS#7 SignedData blobs of the certificate table (one per signature).</summary>
    public IReadOnlyList<byte[]> Signatures(SafeFileHandle file)
    {
        if (!HasCertificateTable)
        {
            return [];
        }

        var table = new byte[CertificateSize];
        RandomAccess.Read(file, table, CertificateOffset);
        var found = new List<byte[]>();
        var at = 0;
        while (at + 8 <= table.Length)
        {
            var length = BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(at));
            var revision = BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(at + 4));
            var type = BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(at + 6));
            if (length < 8 || length > table.Length - at)
            {
                break;
            }

            if (revision == WinCertRevision2 && type == WinCertTypePkcsSignedData)
            {
                found.Add(table.AsSpan(at + 8, (int)length - 8).ToArray());
            }

            at += (int)((length + 7) & ~7u); // entries are 8-byte aligned
        }

        return found;
    }

    /// <summary>A section's raw bytes by name (shim's <c>.vendor_cert</c>), or null.</summary>
    public byte[]? Section(SafeFileHandle file, string name)
    {
        var section = Sections.FirstOrDefault(s => s.Name == name);
        if (section is null)
        {
            return null;
        }

        var bytes = new byte[section.RawSize];
        return RandomAccess.Read(file, bytes, section.RawPointer) == bytes.Length ? bytes : null;
    }

    /// <summary>Long section names ("/4") index the COFF string table after the symbols (GNU ld writes them for shim's .vendor_cert).</summary>
    private static byte[] StringTable(SafeFileHandle file, long length, uint symbolTable, uint symbolCount)
    {
        var at = symbolTable + ((long)symbolCount * 18);
        if (symbolTable == 0 || at + 4 > length)
        {
            return [];
        }

        var size = new byte[4];
        RandomAccess.Read(file, size, at);
        var total = BinaryPrimitives.ReadUInt32LittleEndian(size);
        if (total < 4 || total > 1024 * 1024 || at + total > length)
        {
            return [];
        }

        var strings = new byte[total];
        RandomAccess.Read(file, strings, at);
        return strings;
    }

    private static string SectionName(ReadOnlySpan<byte> raw, byte[] strings)
    {
        var name = Encoding.ASCII.GetString(raw).TrimEnd('\0');
        if (name.Length > 1 && name[0] == '/' && int.TryParse(name.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture, out var offset) && offset >= 4 && offset < strings.Length)
        {
            var end = Array.IndexOf(strings, (byte)0, offset);
            return Encoding.ASCII.GetString(strings, offset, (end < 0 ? strings.Length : end) - offset);
        }

        return name;
    }
}
