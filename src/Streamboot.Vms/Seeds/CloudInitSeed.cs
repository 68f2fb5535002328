using System.Text;
using System.Text.Json;

namespace Streamboot.Vms.Seeds;

/// <summary>
/// A cloud-init NoCloud seed (cloud-init's docs, datasources/nocloud): a
/// file system labelled <c>cidata</c> holding <c>user-data</c> (a
/// <c>#cloud-config</c> document) and <c>meta-data</c>. Cloud images apply it
/// at first boot; Ubuntu's server installer reads its <c>autoinstall</c>
/// section. Strings are written as JSON strings, which YAML reads as
/// double-quoted scalars, so no name can break the document.
/// </summary>
public static class CloudInitSeed
{
    public const string VolumeId = "cidata";

    /// <summary>The seed's files: name and content.</summary>
    public static IReadOnlyList<(string Name, byte[] Content)> Files(EasyInstall install, Guid instanceId, string? guestOsVersion)
    {
        var hash = PasswordHash.Sha512Crypt(install.Password);
        return
        [
            ("user-data", Encoding.UTF8.GetBytes(UserData(install, hash, guestOsVersion))),
            ("meta-data", Encoding.UTF8.GetBytes(MetaData(install, instanceId))),
        ];
    }

    internal static string UserData(EasyInstall install, string passwordHash, string? guestOsVersion)
    {
        var user = Quote(install.UserName);
        var text = new StringBuilder();
        text.Append("#cloud-config\n");
        text.Append("# Written by streamboot vm create (easy install).\n");
        text.Append($"hostname: {Quote(install.HostName)}\n");
        text.Append("preserve_hostname: false\n");
        text.Append("users:\n");
        text.Append($"  - name: {user}\n");
        text.Append($"    gecos: {Quote(install.FullName)}\n");
        text.Append($"    passwd: {Quote(passwordHash)}\n");
        text.Append("    lock_passwd: false\n");
        text.Append("    shell: /bin/bash\n");
        text.Append("    groups: [adm, sudo]\n");
        text.Append("    sudo: \"ALL=(ALL) ALL\"\n");
        text.Append("ssh_pwauth: true\n");
        if (guestOsVersion is not null && guestOsVersion.StartsWith("ubuntu", StringComparison.OrdinalIgnoreCase))
        {
            // Ubuntu's live-server installer (subiquity) installs unattended
            // from this section and gives the installed system this identity.
            text.Append("autoinstall:\n");
            text.Append("  version: 1\n");
            text.Append("  identity:\n");
            text.Append($"    hostname: {Quote(install.HostName)}\n");
            text.Append($"    realname: {Quote(install.FullName)}\n");
            text.Append($"    username: {user}\n");
            text.Append($"    password: {Quote(passwordHash)}\n");
        }

        return text.ToString();
    }

    internal static string MetaData(EasyInstall install, Guid instanceId) =>
        $"instance-id: {Quote("iid-" + instanceId.ToString("D"))}\nlocal-hostname: {Quote(install.HostName)}\n";

    // Relaxed: quotes become \" and accents stay as they are, both valid in a
    // YAML double-quoted scalar; the default encoder would write \u0022.
    private static readonly JsonSerializerOptions s_json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Quote(string value) => JsonSerializer.Serialize(value, s_json);
}
