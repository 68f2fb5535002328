using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streamboot.Admin;
using Streamboot.Admin.Access;
using Streamboot.Server.Configuration;

namespace Streamboot.Server.Api;

/// <summary>
/// At a server's first start on a site without accounts: makes the admin
/// account, with the password of <c>--admin-password-file</c> or a random one
/// written to <c>DATA/initial-admin-password</c> (0600, for the service's own
/// user) and named in the log, never printed into it: the log is read by more
/// people than the data folder is.
/// </summary>
internal sealed partial class FirstAdminSetup(AdminSite site, IOptions<StreambootOptions> options, ILogger<FirstAdminSetup> logger) : IHostedService
{
    public const string PasswordFileName = "initial-admin-password";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var given = options.Value.AdminPasswordFile is { } file ? (await File.ReadAllLinesAsync(file, cancellationToken)).FirstOrDefault()?.Trim() : null;
        var made = await new AccessAdmin(site).EnsureFirstAdminAsync(given, cancellationToken);
        if (!made.Ok)
        {
            throw new InvalidOperationException($"the first admin account: {made.Error.Message} (--admin-password-file)");
        }

        if (made.Value is not { } password)
        {
            return;
        }

        if (given is not null)
        {
            LogMadeFromFile(logger, AccessAdmin.FirstAdmin);
            return;
        }

        var path = Path.Combine(site.DataFolder, PasswordFileName);
        var ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        // Made 0600 before the secret goes in; a file left from an old site is truncated and made 0600 too.
        await using (var stream = OperatingSystem.IsWindows()
            ? new FileStream(path, FileMode.Create, FileAccess.Write)
            : new FileStream(path, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = ownerOnly }))
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(stream.SafeFileHandle, ownerOnly);
            }

            await using var writer = new StreamWriter(stream);
            await writer.WriteLineAsync(password);
        }

        LogMade(logger, AccessAdmin.FirstAdmin, path);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(1060, LogLevel.Warning, "Made the admin account '{Account}'; its password is in {Path} (readable by this service's user only): sign in, set your own with 'streamboot account password {Account}', and delete the file")]
    private static partial void LogMade(ILogger logger, string account, string path);

    [LoggerMessage(1061, LogLevel.Information, "Made the admin account '{Account}' with the password of --admin-password-file")]
    private static partial void LogMadeFromFile(ILogger logger, string account);
}
