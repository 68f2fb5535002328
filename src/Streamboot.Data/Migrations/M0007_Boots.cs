using System.Data;
using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// Per-boot credentials. Each boot script issues a boot with a secret key;
/// the boot starts when the key first opens the device's disk, and it then
/// carries the version pin that M0005 kept on the device (moved here, so a
/// pin belongs to one boot and dies with it). vDisks gain a switch that
/// refuses even the anonymous read-only view.
/// </summary>
[Migration(7, "Boots with per-boot keys; anonymous reads per vDisk")]
public sealed class M0007_Boots : Migration
{
    private const string UtcTimestamp = "timestamptz";

    public override void Up()
    {
        Create.Table("boots")
            .WithColumn("id").AsInt64().PrimaryKey("pk_boots").Identity()
            .WithColumn("device_id").AsInt64().NotNullable()
                .ForeignKey("fk_boots_device", "devices", "id").OnDelete(Rule.Cascade)
            .WithColumn("key").AsString(64).NotNullable()
            .WithColumn("vdisk_id").AsInt64().NotNullable()
                .ForeignKey("fk_boots_vdisk", "vdisks", "id").OnDelete(Rule.Cascade)
            .WithColumn("issued_at").AsCustom(UtcTimestamp).NotNullable()
            .WithColumn("issued_to").AsString(64).Nullable()
            .WithColumn("started_at").AsCustom(UtcTimestamp).Nullable()
            .WithColumn("address").AsString(64).Nullable()
            .WithColumn("version_number").AsInt32().Nullable()
            .WithColumn("key_given").AsBoolean().NotNullable().WithDefaultValue(false);
        Create.Index("ix_boots_device").OnTable("boots").OnColumn("device_id");
        // One running boot per device: two servers starting two boots of one
        // device at once cannot both win.
        Execute.Sql("CREATE UNIQUE INDEX ux_boots_running ON boots (device_id) WHERE started_at IS NOT NULL");

        Delete.Column("boot_vdisk_id").FromTable("devices");
        Delete.Column("boot_version").FromTable("devices");

        Alter.Table("vdisks").AddColumn("anonymous_reads").AsBoolean().NotNullable().WithDefaultValue(true);
    }

    public override void Down()
    {
        Delete.Table("boots");
        Alter.Table("devices")
            .AddColumn("boot_vdisk_id").AsInt64().Nullable()
            .AddColumn("boot_version").AsInt32().Nullable();
        Delete.Column("anonymous_reads").FromTable("vdisks");
    }
}
