using System.CommandLine;
using System.Globalization;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Streamboot.Cli.Output;
using Streamboot.Server.Boot;

namespace Streamboot.Cli.Commands;

/// <summary><c>streamboot bootstrap</c>: a boot medium (ISO, also a USB image) for networks where PXE is not allowed.</summary>
public static class BootstrapCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "The image file to write (a hybrid ISO: burn it, or dd it to a USB stick)", HelpName = "FILE.iso", Required = true };
        var server = new Option<string?>("--server") { Description = "The server the image boots from, as clients reach it (not a remote site to run the verb on): ADDRESS, ADDRESS:PORT or http://... [default: this machine's first IPv4 address and the HTTP port]", HelpName = "ADDR" };
        var force = new Option<bool>("--force") { Description = "Replace FILE if it exists" };
        var command = new Command("bootstrap", "Write a bootable ISO/USB image (BIOS: iPXE; UEFI, Secure Boot on or off: shim and GRUB) that boots clients from this server without PXE")
        {
            output,
            server,
            force,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            // Its own --server names the server the image boots from; only STREAMBOOT_SERVER can name a remote site here.
            if (RemoteTarget.RefuseFor(parse, "bootstrap", "it writes an image on this machine for this machine's server; run it on the server, without STREAMBOOT_SERVER (its own --server ADDRESS names where clients boot from)") is { } refused)
            {
                return refused;
            }

            var context = CliContext.Resolve(parse, null, out var exitCode, SiteUse.None);
            if (context is null)
            {
                return exitCode;
            }

            var path = Path.GetFullPath(parse.GetValue(output)!);
            if (Directory.Exists(path))
            {
                return CliOutput.Usage($"--out {path} is a folder; give a file name such as {Path.Combine(path, "streamboot.iso")}");
            }

            if (File.Exists(path) && !parse.GetValue(force))
            {
                CliOutput.Fail($"{path} exists; give --force to replace it");
                return ExitCodes.Failure;
            }

            if (Path.GetDirectoryName(path) is { } folder && !Directory.Exists(folder))
            {
                CliOutput.Fail($"folder {folder} does not exist");
                return ExitCodes.Failure;
            }

            var baseUrl = ServerUrl(parse.GetValue(server), context.Options.HttpPort, out var error);
            if (baseUrl is null)
            {
                return CliOutput.Usage(error!);
            }

            if (BootstrapImage.Missing() is { } missing)
            {
                CliOutput.Fail(missing);
                return ExitCodes.Failure;
            }

            try
            {
                await BootstrapImage.WriteAsync(path, baseUrl, cancellationToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                CliOutput.Fail($"cannot write {path}: {e.Message}");
                return ExitCodes.Failure;
            }

            var size = new FileInfo(path).Length;
            Console.WriteLine($"Wrote {path} ({ByteSize.Format(size)}): boots from {baseUrl}");
            Console.WriteLine($"BIOS machines start iPXE, which asks {baseUrl} (HTTP); UEFI machines, Secure Boot on or off, start shim and GRUB, which ask {new Uri(baseUrl).Host} over TFTP (port 69)");
            Console.WriteLine($"Burn it to a CD, attach it to a VM, or write it to a USB stick: dd if={path} of=/dev/sdX bs=4M");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The base URL the image chains to, from what the admin typed or this machine's address.</summary>
    internal static string? ServerUrl(string? typed, int httpPort, out string? error)
    {
        error = null;
        if (typed is null)
        {
            var address = NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses)
                .Select(a => a.Address)
                .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
            if (address is null)
            {
                error = "this machine has no IPv4 address clients could reach; give one with --server ADDRESS";
                return null;
            }

            return $"http://{address}:{httpPort.ToString(CultureInfo.InvariantCulture)}";
        }

        var text = typed.Trim();
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "http://" + text;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.Host.Length == 0 || uri.PathAndQuery != "/")
        {
            error = $"--server '{typed}' is not a server address; give ADDRESS, ADDRESS:PORT or http://ADDRESS:PORT (iPXE here speaks plain HTTP)";
            return null;
        }

        var port = typed.Contains("://", StringComparison.Ordinal) || HasPort(typed) ? uri.Port : httpPort;
        return $"http://{uri.Host}:{port.ToString(CultureInfo.InvariantCulture)}";
    }

    private static bool HasPort(string typed) =>
        typed.StartsWith('[') ? typed.Contains("]:", StringComparison.Ordinal) : typed.Count(c => c == ':') == 1;
}
