using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Streamboot.Data.Model;
using Streamboot.Protocols.Tftp.Files;
using Streamboot.Server.Configuration;
using Streamboot.Server.Http;
using Streamboot.Sessions;
using Streamboot.Sessions.Credentials;
using Streamboot.Sessions.Decisions;

namespace Streamboot.Server.Boot;

/// <summary>
/// What TFTP serves: the site's own folder (<c>DATA/tftp</c>) first; then
/// the Secure Boot chain (<c>shimx64.efi</c>, <c>grubx64.efi</c> and
/// <c>mmx64.efi</c> from Debian's signed packages, GRUB's bootstrap
/// configuration); then the iPXE folder. Under <c>streamboot/</c> are the
/// names GRUB asks per machine (<see cref="GrubScript"/>), translated to and
/// from the session layer as <see cref="BootEndpoints"/> does for iPXE over
/// HTTP: a machine's configuration is its boot decision rendered for GRUB,
/// a kernel or initrd is a vDisk's boot file opened with the boot's key.
/// Nothing is decided here.
/// </summary>
internal sealed class BootTftpFiles(IBootSessions sessions, StreambootOptions options, TftpFolderSource site, TftpFolderSource ipxe, TimeProvider clock) : ITftpFileSource
{
    /// <summary>
    /// One decision per configuration GRUB fetches, though GRUB asks more
    /// than once: it sends its request again when the answer takes over
    /// 400 ms (a decision that writes to the database may), and its
    /// decompression check reads the first bytes and seeks back, which over
    /// TFTP is a second transfer. Requests for the same name from the same
    /// address while a decision is being made, or within this time after,
    /// get that decision's answer: one boot's key, one slot against
    /// --max-booting. Bounded in number.
    /// </summary>
    private static readonly TimeSpan s_sameAnswer = TimeSpan.FromSeconds(2);
    private const int MaxAnswersKept = 4096;
    private readonly ConcurrentDictionary<(IPAddress Client, string Name), Answer> _answers = new();

    public const string ShimName = "shimx64.efi";

    /// <summary>The name shim asks for next to its own (its DEFAULT_LOADER).</summary>
    public const string GrubName = "grubx64.efi";

    /// <summary>shim's MOK manager, which it starts when a key enrolment waits (mokutil --import).</summary>
    public const string MokManagerName = "mmx64.efi";

    public async ValueTask<TftpOpenResult> OpenAsync(string fileName, TftpClientInfo client, CancellationToken cancellationToken)
    {
        if (!TftpFolderSource.TryNormalize(fileName, out var relative, out var refusal))
        {
            return TftpOpenResult.AccessViolation(refusal);
        }

        if (relative.StartsWith(GrubScript.Folder + "/", StringComparison.Ordinal))
        {
            return await GeneratedAsync(relative.Split('/')[1..], client, cancellationToken);
        }

        var own = site.Open(fileName);
        if (own.Error != TftpOpenError.NotFound)
        {
            return own;
        }

        return relative switch
        {
            GrubScript.BootstrapPath => Text(GrubScript.Bootstrap(Context(client))),
            ShimName => Package(options.SecureBootShim, "shim-signed"),
            GrubName => Package(options.SecureBootGrub, "grub-efi-amd64-signed"),
            MokManagerName => Package(Path.Combine(Path.GetDirectoryName(options.SecureBootShim) ?? "/", "mmx64.efi.signed"), "shim-helpers-amd64-signed"),
            _ => ipxe.Open(fileName),
        };
    }

    /// <summary>The boot's key and the token standing for it are left out of log lines.</summary>
    public string NameForLog(string fileName)
    {
        if (TftpFolderSource.TryNormalize(fileName, out var relative, out _))
        {
            var parts = relative.Split('/');
            if (parts is [GrubScript.Folder, "key", _, ..])
            {
                parts[2] = "KEY";
                return ClientText.ForLog(string.Join('/', parts));
            }

            if (parts is [GrubScript.Folder, "files", _, _, _, ..])
            {
                parts[4] = "TOKEN";
                return ClientText.ForLog(string.Join('/', parts));
            }
        }

        return ClientText.ForLog(fileName);
    }

    private async Task<TftpOpenResult> GeneratedAsync(string[] parts, TftpClientInfo client, CancellationToken cancellationToken)
    {
        switch (parts)
        {
            case ["grub", var state and ("on" or "off"), var mac, .. var choice]:
                var (vdisk, register) = choice switch
                {
                    [] => (null, null),
                    ["vdisk", var name] => (name, null),
                    ["register", var name] => ((string?)null, (string?)name),
                    _ => ("", ""),
                };
                if (vdisk == "")
                {
                    return TftpOpenResult.NotFound("a machine's GRUB configuration is streamboot/grub/on|off/MAC, with /vdisk/NAME or /register/NAME");
                }

                var address = ClientAddress.Normal(client.RemoteEndPoint.Address);
                var request = new BootRequest(mac, address.ToString(), BuildArch: "x86_64", Platform: "efi", VDisk: vdisk, Register: register)
                {
                    Loader = BootLoader.SecureBoot,
                    SecureBoot = state == "on",
                };
                var bytes = await AnswerOnceAsync((address, string.Join('/', parts)), async () =>
                    Encoding.UTF8.GetBytes(GrubScript.Render(await sessions.DecideAsync(request, cancellationToken), Context(client))));
                return TftpOpenResult.Opened(TftpFile.FromMemory(bytes));

            case ["files", var vdiskName, var device, var token, var file and (BootFileNames.Kernel or BootFileNames.Initrd)]:
                return await BootFileAsync(vdiskName, device, token, file, cancellationToken);

            case ["key", var key, KeyArchive.FileName] when BootKey.IsWellFormed(key):
                return TftpOpenResult.Opened(TftpFile.FromMemory(KeyArchive.ForServer(key, options)));

            default:
                return TftpOpenResult.NotFound("no such name under streamboot/");
        }
    }

    private async Task<byte[]> AnswerOnceAsync((IPAddress, string) key, Func<Task<byte[]>> decide)
    {
        var now = clock.GetUtcNow();
        var mine = new Answer();
        var answer = _answers.AddOrUpdate(key, mine, (_, old) => old.Fresh(now) ? old : mine);
        if (answer != mine)
        {
            return await answer.Bytes.Task;
        }

        try
        {
            var bytes = await decide();
            mine.Done(bytes, clock.GetUtcNow());
            return bytes;
        }
        catch (Exception e)
        {
            mine.Bytes.TrySetException(e);
            _answers.TryRemove(KeyValuePair.Create(key, mine));
            throw;
        }
        finally
        {
            if (_answers.Count > MaxAnswersKept)
            {
                var at = clock.GetUtcNow();
                foreach (var stale in _answers.Where(a => !a.Value.Fresh(at)).ToList())
                {
                    _answers.TryRemove(stale);
                }
            }
        }
    }

    /// <summary>A decision's answer: being made, or made at <see cref="At"/>.</summary>
    private sealed class Answer
    {
        public TaskCompletionSource<byte[]> Bytes { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public DateTimeOffset? At { get; private set; }

        public bool Fresh(DateTimeOffset now) => At is not { } at || now - at < s_sameAnswer;

        public void Done(byte[] bytes, DateTimeOffset at)
        {
            At = at;
            Bytes.TrySetResult(bytes);
        }
    }

    /// <summary>A vDisk's kernel or initrd for the boot whose key <paramref name="token"/> stands for (<see cref="BootKey.FileToken"/>).</summary>
    private async Task<TftpOpenResult> BootFileAsync(string vdisk, string device, string token, string file, CancellationToken cancellationToken)
    {
        if (!BootKey.IsWellFormed(token))
        {
            return TftpOpenResult.NotFound("not a boot file's name");
        }

        var key = await sessions.ProveKeyAsync(vdisk, device, k => BootKey.Matches(BootKey.FileToken(k), token), cancellationToken);
        if (!key.Ok)
        {
            return TftpOpenResult.AccessViolation(key.Error.Message);
        }

        var folder = await sessions.BootFilesAsync(new BootFilesRequest(vdisk, key.Value), cancellationToken);
        if (!folder.Ok)
        {
            return TftpOpenResult.AccessViolation(folder.Error.Message);
        }

        try
        {
            return TftpOpenResult.Opened(TftpFile.FromHandle(File.OpenHandle(Path.Combine(folder.Value, BootFileNames.Folder, file))));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return TftpOpenResult.NotFound($"vDisk {vdisk} has no {BootFileNames.Folder}/{file}");
        }
    }

    private static TftpOpenResult Package(string path, string package)
    {
        try
        {
            return TftpOpenResult.Opened(TftpFile.FromHandle(File.OpenHandle(path)));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return TftpOpenResult.NotFound($"{path} is missing: apt-get install {package}");
        }
    }

    private static TftpOpenResult Text(string text) => TftpOpenResult.Opened(TftpFile.FromMemory(Encoding.UTF8.GetBytes(text)));

    /// <summary>The server as the client reached it: the address its request came in on.</summary>
    private BootScriptContext Context(TftpClientInfo client)
    {
        var local = ClientAddress.Normal(client.LocalAddress);
        return BootScriptContext.For(local.ToString(), options.HttpPort, options, local, ClientAddress.Normal(client.RemoteEndPoint.Address));
    }
}
