using Streamboot.Server.Boot;
using Streamboot.Sessions.Decisions;

namespace Streamboot.Server.Tests.Boot;

/// <summary>
/// What GRUB's script reads specially (<c>$</c> expansion, quotes,
/// backslashes, new lines) never reaches it from text a decision carries:
/// a vDisk's description, a refusal's message. GRUB itself runs these in
/// the Secure Boot VM tests.
/// </summary>
public sealed class GrubScriptTests
{
    private static readonly BootScriptContext s_context = new("http://10.0.0.1:8080", "10.0.0.1", 10809, 5, 9);

    [Fact]
    public void A_refusal_is_one_echo_line_whatever_its_message_holds()
    {
        var config = GrubScript.Render(new BootRefused(BootRefusal.NotAssigned, "pc1 has ${net_default_ip} \"quoted\" \\ back\nslash; echo owned"), s_context);

        Assert.Contains("\necho \"Streamboot: pc1 has \\${net_default_ip} \\\"quoted\\\" \\\\ back slash; echo owned\"\n", config, StringComparison.Ordinal);
        Assert.StartsWith("# Streamboot GRUB configuration: refused\nset streamboot_answered=1\n", config, StringComparison.Ordinal);
        Assert.EndsWith("sleep 9\n", config, StringComparison.Ordinal);
    }

    [Fact]
    public void A_menu_has_an_entry_per_vdisk_the_default_and_the_timeout_and_each_entry_asks_for_its_choice()
    {
        var device = new BootIdentity("pc1", "52:54:00:00:00:01", Guid.NewGuid(), "lab");
        var config = GrubScript.Render(new BootMenu(device, [new BootMenuItem("gold", "Gold $x"), new BootMenuItem("other", null)], 1), s_context);

        Assert.Contains("set streamboot_menu=1\nset timeout=5\nset default=1\n", config, StringComparison.Ordinal);
        Assert.Contains("menuentry \"gold - Gold \\$x\" {\n  echo \"Streamboot: pc1 chose vDisk gold\"\n  streamboot_ask \"/vdisk/gold\"\n}\n", config, StringComparison.Ordinal);
        Assert.Contains("menuentry \"other (default)\" {", config, StringComparison.Ordinal);
    }

    [Fact]
    public void The_bootstrap_asks_by_mac_with_what_grub_says_of_secure_boot_and_waits_when_nobody_answers()
    {
        var bootstrap = GrubScript.Bootstrap(s_context);

        Assert.Contains("if [ \"$lockdown\" = \"y\" ]; then set streamboot_sb=on; else set streamboot_sb=off; fi", bootstrap, StringComparison.Ordinal);
        Assert.Contains("source \"$streamboot/grub/$streamboot_sb/$net_default_mac$1\"", bootstrap, StringComparison.Ordinal);
        Assert.Contains("      sleep 9\n", bootstrap, StringComparison.Ordinal);
        Assert.Equal("grub/on/52:54:00:00:00:01", GrubScript.AskPath(true, "52:54:00:00:00:01"));
    }
}
