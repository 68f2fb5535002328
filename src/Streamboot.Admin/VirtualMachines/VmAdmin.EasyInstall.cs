using Streamboot.Vms.Seeds;

namespace Streamboot.Admin.VirtualMachines;

public sealed partial class VmAdmin
{
    [System.Text.RegularExpressions.GeneratedRegex("^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$")]
    private static partial System.Text.RegularExpressions.Regex WindowsProductKey();

    private static AdminResult<EasyInstall> PlanEasyInstall(VmRequest request, GuestOsFamily family)
    {
        if (family == GuestOsFamily.Other)
        {
            return AdminError.Invalid("easy install writes a cloud-init (Linux) or autounattend (Windows) seed; choose --guest-os linux or windows, or leave out --user and --password");
        }

        var user = request.UserName;
        if (string.IsNullOrEmpty(user))
        {
            return AdminError.Invalid("easy install needs a user name (--user)");
        }

        if (user.Length > MaxUserNameLength || !char.IsAsciiLetter(user[0]) || user.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.')))
        {
            return AdminError.Invalid($"user name '{user}' is not valid: start with a letter; letters, digits, '_', '-' and '.' only; at most {MaxUserNameLength} characters");
        }

        if (family == GuestOsFamily.Linux && user.Any(char.IsAsciiLetterUpper))
        {
            return AdminError.Invalid($"user name '{user}' has capitals; Linux user names are lower case ({user.ToLowerInvariant()})");
        }

        if (user is "root" or "Administrator" or "administrator")
        {
            return AdminError.Invalid($"'{user}' exists on every system already; choose the name of the person who will use the VM");
        }

        if (string.IsNullOrEmpty(request.Password))
        {
            return AdminError.Invalid("easy install needs a password (--password-file FILE, or --password)");
        }

        if (request.Password.Any(c => c is '\0' or '\n' or '\r'))
        {
            return AdminError.Invalid("the password cannot hold a line break or NUL character");
        }

        if (family == GuestOsFamily.Windows && request.Password.Length > 127)
        {
            return AdminError.Invalid("a Windows password has at most 127 characters");
        }

        var fullName = string.IsNullOrWhiteSpace(request.FullName) ? user : request.FullName.Trim();
        if (fullName.Length > MaxFullNameLength || fullName.Any(char.IsControl) || fullName.Contains(':', StringComparison.Ordinal))
        {
            return AdminError.Invalid($"the full name must be at most {MaxFullNameLength} printable characters without ':' (it goes into /etc/passwd)");
        }

        var host = request.HostName ?? HostNameFor(request.Name, family);
        if (!Names.TryValidateHostName(host, out var hostError))
        {
            return AdminError.Invalid($"--hostname: {hostError.Replace("device name", "host name", StringComparison.Ordinal)}");
        }

        if (family == GuestOsFamily.Windows && host.Length > MaxWindowsComputerName)
        {
            return AdminError.Invalid($"Windows computer names have at most {MaxWindowsComputerName} characters; '{host}' has {host.Length} (--hostname)");
        }

        if (family != GuestOsFamily.Windows && (request.ProductKey is not null || request.Edition is not null))
        {
            return AdminError.Invalid("--product-key and --edition go into Windows' autounattend.xml; they need --guest-os windows");
        }

        var key = request.ProductKey?.Trim().ToUpperInvariant();
        if (key is not null && !WindowsProductKey().IsMatch(key))
        {
            return AdminError.Invalid($"'{request.ProductKey}' is not a Windows product key; write its five groups of five letters and digits: XXXXX-XXXXX-XXXXX-XXXXX-XXXXX");
        }

        var edition = string.IsNullOrWhiteSpace(request.Edition) ? null : request.Edition.Trim();
        if (edition is { Length: > 64 } || (edition is not null && edition.Any(char.IsControl)))
        {
            return AdminError.Invalid("--edition is the image's name in install.wim, such as \"Windows 11 Pro\": at most 64 printable characters");
        }

        return new EasyInstall(fullName, user, request.Password, host) { ProductKey = key, Edition = edition };
    }

    /// <summary>The VM's name as a host name: '_' and '.' become '-', cut to what the guest allows.</summary>
    public static string HostNameFor(string vmName, GuestOsFamily family)
    {
        var host = new string([.. vmName.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]).Trim('-');
        var limit = family == GuestOsFamily.Windows ? MaxWindowsComputerName : Names.MaxHostNameLength;
        host = host.Length > limit ? host[..limit].TrimEnd('-') : host;
        return host.Length == 0 || host.All(char.IsAsciiDigit) ? "vm-" + host : host;
    }
}
