using System.Data;
using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// Secure Boot network boot (issue 16): devices and collections choose the
/// boot loader DHCP sends x64 UEFI clients (ipxe, secure-boot; null for
/// "as the collection says" and auto), and the last refused boot of each
/// known device is kept, so the admin sees why a machine does not start
/// (a kernel Secure Boot would refuse, a vDisk GRUB cannot boot, ...).
/// </summary>
[Migration(16, "Boot loader per device and collection; refused boots")]
public sealed class M0016_SecureBoot : Migration
{
    private const string UtcTimestamp = "timestamptz";

    public override void Up()
    {
        Alter.Table("devices").AddColumn("boot_loader").AsString(16).Nullable();
        Alter.Table("collections").AddColumn("boot_loader").AsString(16).Nullable();

        Create.Table("boot_refusals")
            .WithColumn("id").AsInt64().PrimaryKey("pk_boot_refusals").Identity()
            .WithColumn("device_id").AsInt64().NotNullable()
                .ForeignKey("fk_boot_refusals_device", "devices", "id").OnDelete(Rule.Cascade)
            .WithColumn("vdisk").AsString(64).Nullable()
            .WithColumn("version_number").AsInt32().Nullable()
            .WithColumn("server_id").AsInt64().Nullable()
                .ForeignKey("fk_boot_refusals_server", "servers", "id").OnDelete(Rule.SetNull)
            .WithColumn("remote_address").AsString(64).Nullable()
            .WithColumn("loader").AsString(16).NotNullable()
            .WithColumn("reason").AsString(32).NotNullable()
            .WithColumn("message").AsString(512).NotNullable()
            .WithColumn("refused_at").AsCustom(UtcTimestamp).NotNullable();
        // One row per device: what its last refused boot was told.
        Create.Index("ux_boot_refusals_device").OnTable("boot_refusals").OnColumn("device_id").Unique();
    }

    public override void Down()
    {
        Delete.Table("boot_refusals");
        Delete.Column("boot_loader").FromTable("devices");
        Delete.Column("boot_loader").FromTable("collections");
    }
}
