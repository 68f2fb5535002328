using FluentMigrator;

namespace Streamboot.Data.Migrations;

/// <summary>
/// Full-mode DHCP: the leases the server has handed out (they outlive a
/// restart, so a client keeps its address) and a fixed address a device may
/// have reserved in its record.
/// </summary>
[Migration(3, "DHCP leases and reserved device addresses")]
public sealed class M0003_DhcpLeases : Migration
{
    public override void Up()
    {
        Create.Table("dhcp_leases")
            .WithColumn("address").AsString(15).NotNullable().PrimaryKey("pk_dhcp_leases")
            .WithColumn("mac").AsString(17).NotNullable()
            .WithColumn("state").AsString(16).NotNullable()
            .WithColumn("expires_at").AsCustom("timestamptz").NotNullable()
            .WithColumn("host_name").AsString(255).Nullable()
            .WithColumn("server_id").AsInt64().Nullable()
                .ForeignKey("fk_dhcp_leases_server", "servers", "id").OnDelete(System.Data.Rule.SetNull)
            .WithColumn("updated_at").AsCustom("timestamptz").NotNullable();
        Create.Index("ix_dhcp_leases_mac").OnTable("dhcp_leases").OnColumn("mac");

        Alter.Table("devices").AddColumn("ip_address").AsString(15).Nullable();
        Execute.Sql("CREATE UNIQUE INDEX ux_devices_ip_address ON devices (ip_address) WHERE ip_address IS NOT NULL");
    }

    public override void Down()
    {
        Execute.Sql("DROP INDEX ux_devices_ip_address");
        Delete.Column("ip_address").FromTable("devices");
        Delete.Table("dhcp_leases");
    }
}
