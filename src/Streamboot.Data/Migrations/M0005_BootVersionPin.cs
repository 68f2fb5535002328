using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// Which vDisk version a device's current boot runs. Set when the boot's
/// first session opens and cleared when the device starts a new boot (it
/// asks for its boot script): a reconnect within the boot (a dropped link,
/// a restarted server, another server of the farm) gets the same version
/// even if another was promoted meanwhile, never a different disk under a
/// running OS.
/// </summary>
[Migration(5, "The vDisk version a device's current boot runs")]
public sealed class M0005_BootVersionPin : Migration
{
    public override void Up()
    {
        Alter.Table("devices")
            .AddColumn("boot_vdisk_id").AsInt64().Nullable()
            .AddColumn("boot_version").AsInt32().Nullable();
    }

    public override void Down()
    {
        Delete.Column("boot_vdisk_id").FromTable("devices");
        Delete.Column("boot_version").FromTable("devices");
    }
}
