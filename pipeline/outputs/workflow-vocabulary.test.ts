/** schemas/ holds no tests (it imports only zod); its workflow vocabulary is checked here, where the ledger labels with it. */
import { describe, expect, it } from 'vitest';
import {
  CLUE_SOURCE_ZH, clueSourceSchema, rectificationMethodSchema, RECTIFICATION_METHOD_ZH, VERDICT_ZH, verdictSchema,
  VIOLATION_TYPE_ZH, violationTypeSchema, WORKFLOW_STATUS_ZH, workflowStatusSchema,
} from '../../schemas/workflow.js';

describe('workflow vocabulary', () => {
  it('each enum takes exactly its label table\'s ids, never the labels', () => {
    for (const [schema, table] of [
      [verdictSchema, VERDICT_ZH], [violationTypeSchema, VIOLATION_TYPE_ZH], [rectificationMethodSchema, RECTIFICATION_METHOD_ZH],
      [clueSourceSchema, CLUE_SOURCE_ZH], [workflowStatusSchema, WORKFLOW_STATUS_ZH],
    ] as const) {
      expect(schema.options).toEqual(Object.keys(table));
      for (const label of Object.values(table)) expect(schema.safeParse(label).success, label).toBe(false);
    }
    expect(verdictSchema.parse('illegal')).toBe('illegal');
  });

  it('names the clue sources (发现方式) as the ledger prints them', () => {
    expect(Object.values(CLUE_SOURCE_ZH)).toEqual(['巡查发现', '群众举报', '热线(12336/12345)']);
  });
});
