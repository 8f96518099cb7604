-- Adds :n actions to the current plan of community :'slug', each with a theme, a department,
-- an update and a partnership of two members, so the benchmark can show that the SQL
-- statement count per request does not grow with the number of actions.
WITH p AS (
  SELECT plan.id FROM plan JOIN community c ON c.id = plan.community_id
  WHERE c.slug = :'slug' AND plan.status = 'ADOPTED' ORDER BY plan.period_from DESC LIMIT 1
), a AS (
  INSERT INTO action (id, plan_id, title, description, horizon, status, progress, potential,
                      seeking_partners, created_at, updated_at, version)
  SELECT gen_random_uuid(), p.id, 'Ekstra indsats ' || g, 'Tilføjet af benchmarken', 'HERE_AND_NOW',
         'PLANNED', 10, 3, false, now(), now(), 1
  FROM p, generate_series(1, :n) g
  RETURNING id
), t AS (
  INSERT INTO action_theme (action_id, theme_id)
  SELECT a.id, (SELECT id FROM theme ORDER BY name LIMIT 1) FROM a
), d AS (
  INSERT INTO action_department (id, action_id, department_id, role, contribution, created_at, updated_at, version)
  SELECT gen_random_uuid(), a.id, (SELECT id FROM department ORDER BY name LIMIT 1), 'SUPPORT', 'Sparring', now(), now(), 1 FROM a
), ps AS (
  INSERT INTO partnership (id, title, description, action_id, status, created_at, updated_at, version)
  SELECT gen_random_uuid(), 'Ekstra partnerskab', '', a.id, 'ACTIVE', now(), now(), 1 FROM a
  RETURNING id
), m1 AS (
  INSERT INTO partnership_member (id, partnership_id, community_id, role, contribution_kind, contribution, created_at, updated_at, version)
  SELECT gen_random_uuid(), ps.id, (SELECT id FROM community WHERE slug = :'slug'), 'LEAD', 'VOLUNTEER_HOURS', 'Frivillige', now(), now(), 1 FROM ps
)
INSERT INTO partnership_member (id, partnership_id, organization_id, role, contribution_kind, contribution, created_at, updated_at, version)
SELECT gen_random_uuid(), ps.id, (SELECT id FROM organization ORDER BY name LIMIT 1), 'PARTNER', 'MONEY', 'Medfinansiering', now(), now(), 1 FROM ps;
